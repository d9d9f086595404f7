// Package awareness is the awareness service target: campaigns, attested expectation statements, training assignments and their follow-up.
package awareness

import "github.com/deiops/deiops/pkg/platform"

// Name is the target name used by --target and in task queues.
const Name = "awareness"

// Service is the awareness target.
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
