package adapters

import (
	"github.com/deiops/deiops/services/connection/app"
	"github.com/deiops/deiops/services/connection/domain"
)

var (
	_ app.Store[domain.Profile]   = Repo[domain.Profile]{}
	_ app.Store[domain.Round]     = Repo[domain.Round]{}
	_ app.Store[domain.Gathering] = Repo[domain.Gathering]{}
	_ app.Store[domain.Group]     = Repo[domain.Group]{}
	_ app.Store[domain.Program]   = Repo[domain.Program]{}
)
