module github.com/deiops/deiops/services/connection

go 1.26.8

require github.com/deiops/deiops/pkg v0.0.0

replace github.com/deiops/deiops/pkg => ../../pkg
