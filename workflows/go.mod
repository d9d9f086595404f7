module github.com/deiops/deiops/workflows

go 1.26.8
