package config_test

import (
	"strings"
	"testing"
	"time"
)

func TestResolutionRetention(t *testing.T) {
	c := base(t)
	if got := c.Resolution.RetentionFor("racism"); got != 61320*time.Hour {
		t.Errorf("default retention %s", got)
	}
	c.Resolution.RetentionByType = "microaggression:26280h, retaliation:87600h"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Resolution.RetentionFor("microaggression"); got != 26280*time.Hour {
		t.Errorf("microaggression retention %s", got)
	}
	if got := c.Resolution.RetentionFor("racism"); got != 61320*time.Hour {
		t.Errorf("racism keeps the default, got %s", got)
	}
	c.Resolution.RetentionByType = "racism:forever,:1h,other:-1h"
	c.Resolution.Retention = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("bad retention accepted")
	}
	for _, want := range []string{"DEIOPS_RESOLUTION_RETENTION:", `"racism:forever"`, `":1h"`, `"other:-1h"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}
