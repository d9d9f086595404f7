// Package connection is the connection service target: opt-in profiles, mentor matching, mentorship lifecycle, groups and gatherings.
package connection

import "github.com/deiops/deiops/pkg/platform"

// Name is the target name used by --target and in task queues.
const Name = "connection"

// Service is the connection target.
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
