package web

// SafeNext exposes safeNext to the tests.
var SafeNext = safeNext
