package devstack

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// A restart on the same data forgets the membership of the process before
// it, so the new ring does not try to join a process that is gone (after
// a kill -9 its rows still look alive).
func TestTemporalRestartForgetsEarlierMembers(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "temporal.db")
	first, err := StartTemporal(ctx, TemporalOptions{DBFile: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	before := memberPorts(t, db)
	if len(before) == 0 {
		t.Fatal("the first process left no membership rows; the test proves nothing")
	}
	second, err := StartTemporal(ctx, TemporalOptions{DBFile: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop() })
	for port := range memberPorts(t, db) {
		if before[port] {
			t.Errorf("membership row of the earlier process (port %d) survived the restart", port)
		}
	}
}

func memberPorts(t *testing.T, dbFile string) map[int]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbFile+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT rpc_port FROM cluster_membership")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ports := map[int]bool{}
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		ports[p] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ports
}
