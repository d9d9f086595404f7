// Package chartcheck checks what deiops ships for deployment: the Helm chart in
// helm/deiops (rendered with a pinned Helm built from the Go module proxy and
// decoded strictly into Kubernetes API types), docker-compose.yml, the NATS
// account configuration and the Dockerfile. Its tests run in `make test`.
package chartcheck
