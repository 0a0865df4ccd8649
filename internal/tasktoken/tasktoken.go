// Package tasktoken encodes the opaque task tokens handed to workers in poll
// responses and returned by them on completion.
package tasktoken

import (
	"encoding/json"
	"errors"
)

// Token identifies one attempt of a workflow or activity task.
type Token struct {
	NamespaceID string `json:"n"`
	WorkflowID  string `json:"w"`
	RunID       string `json:"r"`
	// ScheduledEventID of the workflow task or activity. Zero in a token
	// built from a ...ById request: the engine resolves ActivityID then.
	ScheduledEventID int64 `json:"s,omitempty"`
	// StartedEventID of a workflow task (its transient ID when attempt > 1).
	StartedEventID int64 `json:"t,omitempty"`
	Attempt        int32 `json:"a,omitempty"`
	// ActivityID is set for activity tasks.
	ActivityID string `json:"i,omitempty"`
	// Activity is true for activity tokens.
	Activity bool `json:"k,omitempty"`
}

// ErrMalformed is returned by Decode for bytes that are not a token.
var ErrMalformed = errors.New("malformed task token")

// Encode serializes t.
func Encode(t *Token) []byte {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return b
}

// Decode parses b, returning ErrMalformed for anything that is not a token
// with at least a namespace, workflow ID and run ID.
func Decode(b []byte) (*Token, error) {
	if len(b) == 0 {
		return nil, ErrMalformed
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, ErrMalformed
	}
	if t.NamespaceID == "" || t.WorkflowID == "" || t.RunID == "" {
		return nil, ErrMalformed
	}
	return &t, nil
}
