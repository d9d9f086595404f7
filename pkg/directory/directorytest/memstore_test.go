package directorytest_test

import (
	"testing"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/directorytest"
)

func TestMemoryStoreContract(t *testing.T) {
	directorytest.StoreContract(t, func(t *testing.T) directory.Store {
		s, err := directorytest.NewMemoryStore(nil, nil)
		if err != nil {
			t.Fatalf("new memory store: %v", err)
		}
		return s
	})
}
