package devstack

import (
	"context"
	"database/sql"
	"fmt"
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
	before := members(t, db)
	if len(before) == 0 {
		t.Fatal("the first process left no membership rows; the test proves nothing")
	}
	second, err := StartTemporal(ctx, TemporalOptions{DBFile: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop() })
	// Rows are told apart by host id, which each process draws anew: the
	// second process may well be given the first one's free port.
	for host := range members(t, db) {
		if before[host] {
			t.Errorf("membership row of the earlier process (host %s) survived the restart", host)
		}
	}
}

func members(t *testing.T, dbFile string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbFile+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT host_id, rpc_port FROM cluster_membership")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	hosts := map[string]bool{}
	for rows.Next() {
		var host []byte
		var port int
		if err := rows.Scan(&host, &port); err != nil {
			t.Fatal(err)
		}
		hosts[fmt.Sprintf("%x:%d", host, port)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hosts
}
