package page

import (
	"errors"
	"slices"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Encode("team", "1700000000", "asg:1.x", "p-1")
	got, err := Decode("team", c, 3)
	if err != nil || !slices.Equal(got, []string{"1700000000", "asg:1.x", "p-1"}) {
		t.Fatalf("Decode = %v, %v", got, err)
	}
	if got, err := Decode("team", "", 3); got != nil || err != nil {
		t.Errorf("empty cursor = %v, %v; want the first page", got, err)
	}
	for name, bad := range map[string]string{
		"another list":    Encode("people", "1700000000", "a", "p"),
		"other key shape": Encode("team", "a"),
		"not base64":      "%%%",
	} {
		if _, err := Decode("team", bad, 3); !errors.Is(err, ErrCursor) {
			t.Errorf("%s: err = %v, want ErrCursor", name, err)
		}
	}
}

func TestLimit(t *testing.T) {
	for in, want := range map[string]int{"": DefaultLimit, "1": 1, "200": 200} {
		if got, err := Limit(in); got != want || err != nil {
			t.Errorf("Limit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "201", "-1", "ten"} {
		if _, err := Limit(in); !errors.Is(err, ErrLimit) {
			t.Errorf("Limit(%q) err = %v, want ErrLimit", in, err)
		}
	}
}
