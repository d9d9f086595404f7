package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// PatternCell is one count of a pattern table; a suppressed cell carries
// no number.
type PatternCell struct {
	Count      *int `json:"count"`
	Suppressed bool `json:"suppressed"`
}

// PatternTable is a suppressed cross-tabulation (GET /v1/patterns/table).
type PatternTable struct {
	Rows        []string        `json:"rows"`
	Cols        []string        `json:"cols"`
	Cells       [][]PatternCell `json:"cells"`
	RowTotals   []PatternCell   `json:"row_totals"`
	ColTotals   []PatternCell   `json:"col_totals"`
	Total       PatternCell     `json:"total"`
	MinCellSize int             `json:"min_cell_size"`
}

// Detection is a count over threshold or a significant rise.
type Detection struct {
	DetectionID string    `json:"detection_id"`
	Kind        string    `json:"kind"`
	Department  string    `json:"department"`
	Category    string    `json:"category"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Count       int       `json:"count"`
	Suppressed  bool      `json:"count_suppressed"`
	Expected    float64   `json:"expected"`
	PValue      float64   `json:"p_value"`
}

// RepeatSubject is a person named by several reporters, by opaque id.
type RepeatSubject struct {
	ID                string    `json:"id"`
	Reports           int       `json:"reports"`
	DistinctReporters int       `json:"distinct_reporters"`
	AnonymousReports  int       `json:"anonymous_reports"`
	Cases             []string  `json:"cases"`
	Departments       []string  `json:"departments"`
	First             time.Time `json:"first"`
	Last              time.Time `json:"last"`
}

// PatternTable reads one table; q carries rows, cols, from, to and department.
func (c *Client) PatternTable(ctx context.Context, who Caller, q url.Values) (PatternTable, error) {
	var out PatternTable
	err := c.do(ctx, http.MethodGet, "/v1/patterns/table?"+q.Encode(), who, nil, &out)
	return out, err
}

// Detections are the current pattern detections (DEI officers).
func (c *Client) Detections(ctx context.Context, who Caller) ([]Detection, error) {
	var out struct {
		Detections []Detection `json:"detections"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/patterns/detections", who, nil, &out)
	return out.Detections, err
}

// RepeatSubjects are people named by at least two reporters (DEI officers).
func (c *Client) RepeatSubjects(ctx context.Context, who Caller) ([]RepeatSubject, error) {
	var out struct {
		Matches []RepeatSubject `json:"matches"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/patterns/repeat-subjects", who, nil, &out)
	return out.Matches, err
}
