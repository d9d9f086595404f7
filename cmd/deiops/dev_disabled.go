//go:build nodev

package main

import (
	"context"
	"errors"
	"io"
)

// Production images are built with -tags nodev: no embedded servers inside.
func cmdDev(context.Context, []string, io.Writer) error {
	return errors.New("this build has no embedded development servers; use a full build for deiops dev")
}
