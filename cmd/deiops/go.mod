module github.com/deiops/deiops/cmd/deiops

go 1.26.8

require (
	github.com/deiops/deiops/pkg v0.0.0
	github.com/deiops/deiops/services/awareness v0.0.0
	github.com/deiops/deiops/services/connection v0.0.0
	github.com/deiops/deiops/services/resolution v0.0.0
	github.com/deiops/deiops/workflows v0.0.0
)

replace (
	github.com/deiops/deiops/pkg => ../../pkg
	github.com/deiops/deiops/services/awareness => ../../services/awareness
	github.com/deiops/deiops/services/connection => ../../services/connection
	github.com/deiops/deiops/services/resolution => ../../services/resolution
	github.com/deiops/deiops/workflows => ../../workflows
)
