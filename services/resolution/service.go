// Package resolution is the resolution service target: speak-up reports, anonymous two-way contact, the designated resolution process and systemic patterns.
package resolution

import "github.com/deiops/deiops/pkg/platform"

// Name is the target name used by --target and in task queues.
const Name = "resolution"

// Service is the resolution target.
type Service struct {
	platform.Unimplemented
	deps platform.Deps
}

// New builds the target from its dependencies.
func New(d platform.Deps) (*Service, error) {
	return &Service{deps: d}, nil
}

// Name implements platform.Target.
func (s *Service) Name() string { return Name }
