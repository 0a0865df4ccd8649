package history

import (
	"context"
	"encoding/json"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// historyToken is the next_page_token of history reads: the run, the next
// event ID to read and the exclusive end (0: the run's current end). A
// token from a workflow task poll also names the transient workflow task
// whose unwritten events end the last page.
type historyToken struct {
	RunID     string `json:"r"`
	Next      int64  `json:"n"`
	End       int64  `json:"e,omitempty"`
	Transient int64  `json:"t,omitempty"`
}

func (t historyToken) encode() []byte {
	b, _ := json.Marshal(t)
	return b
}

func decodeHistoryToken(b []byte) (historyToken, error) {
	var t historyToken
	if err := json.Unmarshal(b, &t); err != nil || t.RunID == "" || t.Next < 0 {
		return t, &InvalidArgumentError{Msg: "Invalid NextPageToken."}
	}
	return t, nil
}

// historyPageSize clamps a requested page size to the configured maximum.
func (e *Engine) historyPageSize(requested int32) int {
	max := e.opts.Dynamic.Int("frontend.historyMaxPageSize", 256)
	if requested <= 0 || int(requested) > max {
		return max
	}
	return int(requested)
}

// readPage reads up to size events from tok.Next to tok.End and returns the
// token for the rest (nil when this page reaches tok.End).
func (e *Engine) readPage(ctx context.Context, key persistence.WorkflowKey, tok historyToken, size int) ([]*historypb.HistoryEvent, []byte, error) {
	if tok.Next >= tok.End {
		return nil, nil, nil
	}
	rows, cached := e.cache.recentEvents(key, tok.Next, min(tok.End, tok.Next+int64(size)))
	if !cached {
		sh := e.shardOf(key.NamespaceID, key.WorkflowID)
		var err error
		if rows, err = e.opts.Store.ReadHistory(ctx, sh.id, key, tok.Next, tok.End, size, false); err != nil {
			return nil, nil, err
		}
	}
	events, err := decodeEvents(rows)
	if err != nil {
		return nil, nil, err
	}
	if len(events) == size && len(events) > 0 && events[len(events)-1].EventId+1 < tok.End {
		tok.Next = events[len(events)-1].EventId + 1
		return events, tok.encode(), nil
	}
	return events, nil, nil
}

func decodeEvents(rows []persistence.HistoryEvent) ([]*historypb.HistoryEvent, error) {
	events := make([]*historypb.HistoryEvent, len(rows))
	for i, r := range rows {
		ev := &historypb.HistoryEvent{}
		if err := proto.Unmarshal(r.Data, ev); err != nil {
			return nil, err
		}
		events[i] = ev
	}
	return events, nil
}

// runView is what history reads need of a run's state.
type runView struct {
	next      int64
	closeID   int64
	transient []*historypb.HistoryEvent
}

func (e *Engine) runView(ctx context.Context, key persistence.WorkflowKey) (runView, error) {
	var v runView
	err := e.view(ctx, key, func(st *sm.State) {
		v = runView{next: st.NextEventID, closeID: st.Execution.CloseEventID, transient: sm.TransientEvents(st)}
	})
	return v, err
}

// longPoll waits for ch, the long-poll interval or ctx, and reports
// whether ch fired.
func (e *Engine) longPoll(ctx context.Context, ch <-chan struct{}, deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
		return !e.stopped.Load()
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// startRead resolves the run a history read is about: the page token's run
// if there is a token, else the given or current run.
func (e *Engine) startRead(ctx context.Context, key persistence.WorkflowKey, token []byte) (persistence.WorkflowKey, historyToken, error) {
	var tok historyToken
	if len(token) > 0 {
		t, err := decodeHistoryToken(token)
		if err != nil {
			return key, tok, err
		}
		tok, key.RunID = t, t.RunID
	}
	key, err := e.resolveRun(ctx, key)
	return key, tok, err
}

// GetWorkflowExecutionHistory reads a page of history; with wait_new_event
// it long-polls for new events (or, with the CLOSE_EVENT filter, for the
// close event) and answers empty with a token when nothing came in time.
func (e *Engine) GetWorkflowExecutionHistory(ctx context.Context, namespaceID string, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	key := persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: req.GetExecution().GetWorkflowId(), RunID: req.GetExecution().GetRunId()}
	key, tok, err := e.startRead(ctx, key, req.GetNextPageToken())
	if err != nil {
		return nil, err
	}
	if tok.RunID == "" {
		tok = historyToken{RunID: key.RunID, Next: 1}
	}
	deadline := time.Now().Add(e.opts.Dynamic.Duration("history.longPollExpirationInterval", 20*time.Second))
	closeOnly := req.GetHistoryEventFilterType() == enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
	for {
		ch := e.watch.wait
		if closeOnly {
			ch = e.watch.waitClose
		}
		changed := ch(key) // before the read, so no change is missed
		v, err := e.runView(ctx, key)
		if err != nil {
			return nil, err
		}
		if closeOnly {
			if v.closeID > 0 {
				events, _, err := e.readPage(ctx, key, historyToken{Next: v.closeID, End: v.closeID + 1}, 1)
				return historyResponse(events, nil), err
			}
		} else {
			page := tok
			if page.End == 0 {
				page.End = v.next
			}
			if page.Next < page.End || v.closeID > 0 || !req.GetWaitNewEvent() {
				return e.historyPage(ctx, key, page, tok.End == 0 && req.GetWaitNewEvent() && v.closeID == 0, v, req.GetMaximumPageSize())
			}
		}
		if !req.GetWaitNewEvent() {
			return historyResponse(nil, nil), nil
		}
		if !e.longPoll(ctx, changed, deadline) {
			return historyResponse(nil, tok.encode()), nil
		}
	}
}

// historyPage reads one page; follow keeps a token at the end of a running
// run's history so a long-polling reader continues from there.
func (e *Engine) historyPage(ctx context.Context, key persistence.WorkflowKey, page historyToken, follow bool, v runView, size int32) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	events, next, err := e.readPage(ctx, key, page, e.historyPageSize(size))
	if err != nil {
		return nil, err
	}
	if next == nil && page.Transient != 0 && len(v.transient) > 0 && v.transient[0].EventId == page.Transient {
		events = append(events, v.transient...)
	}
	if next == nil && follow {
		next = historyToken{RunID: key.RunID, Next: page.End}.encode()
	}
	return historyResponse(events, next), nil
}

func historyResponse(events []*historypb.HistoryEvent, next []byte) *workflowservice.GetWorkflowExecutionHistoryResponse {
	return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{Events: events}, NextPageToken: next}
}

// GetWorkflowExecutionHistoryReverse reads history from the newest event
// backwards.
func (e *Engine) GetWorkflowExecutionHistoryReverse(ctx context.Context, namespaceID string, req *workflowservice.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	key := persistence.WorkflowKey{NamespaceID: namespaceID, WorkflowID: req.GetExecution().GetWorkflowId(), RunID: req.GetExecution().GetRunId()}
	key, tok, err := e.startRead(ctx, key, req.GetNextPageToken())
	if err != nil {
		return nil, err
	}
	if tok.RunID == "" {
		v, err := e.runView(ctx, key)
		if err != nil {
			return nil, err
		}
		tok = historyToken{RunID: key.RunID, Next: v.next}
	}
	size := e.historyPageSize(req.GetMaximumPageSize())
	sh := e.shardOf(key.NamespaceID, key.WorkflowID)
	rows, err := e.opts.Store.ReadHistory(ctx, sh.id, key, 1, tok.Next, size, true)
	if err != nil {
		return nil, err
	}
	events, err := decodeEvents(rows)
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.GetWorkflowExecutionHistoryReverseResponse{History: &historypb.History{Events: events}}
	if n := len(events); n == size && events[n-1].EventId > 1 {
		resp.NextPageToken = historyToken{RunID: key.RunID, Next: events[n-1].EventId}.encode()
	}
	return resp, nil
}
