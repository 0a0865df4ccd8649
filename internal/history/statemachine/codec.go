package statemachine

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// The stored mutable state is a compact binary encoding: a version byte
// (stateCodecV1), then every field in declaration order — integers as
// varints, strings and byte slices length-prefixed, times as a presence
// flag then seconds and nanoseconds (UTC), maps as a count then entries
// sorted by key, optional structs as a presence flag. It is several times
// cheaper than JSON to write and to read. States written as JSON by
// earlier versions (the first byte is '{') still decode.
//
// Adding a field to State or to one of its structs means adding it to
// both encode and decode below, in the same position, and bumping the
// version byte when older binary states must still decode; the
// round-trip test fills every field by reflection and fails on one that
// is not carried.

const stateCodecV1 byte = 1

// Encode serializes the state for the store.
func (s *State) Encode() ([]byte, error) {
	e := encoder{b: make([]byte, 0, 512)}
	e.b = append(e.b, stateCodecV1)
	e.state(s)
	return e.b, nil
}

// Decode parses a stored state, binary or (written by earlier versions)
// JSON.
func Decode(b []byte) (*State, error) {
	var s *State
	switch {
	case len(b) > 0 && b[0] == '{':
		var err error
		if s, err = decodeJSON(b); err != nil {
			return nil, err
		}
	case len(b) > 0 && b[0] == stateCodecV1:
		d := decoder{b: b[1:]}
		s = d.state()
		if d.err == nil && len(d.b) != 0 {
			d.err = fmt.Errorf("%d trailing bytes", len(d.b))
		}
		if d.err != nil {
			return nil, fmt.Errorf("decode mutable state: %w", d.err)
		}
	default:
		return nil, errors.New("decode mutable state: unknown encoding")
	}
	if s.Activities == nil {
		s.Activities = map[int64]*ActivityInfo{}
	}
	if s.Timers == nil {
		s.Timers = map[string]*TimerInfo{}
	}
	return s, nil
}

type encoder struct{ b []byte }

func (e *encoder) int(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) uint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) str(v string)   { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) bytes(v []byte) { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) dur(v time.Duration) {
	e.int(int64(v))
}

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.bool(false)
		return
	}
	e.bool(true)
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

// orderedKeys are m's keys in order, so that a state always encodes to the
// same bytes.
func orderedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (e *encoder) state(s *State) {
	e.execution(&s.Execution)
	e.int(s.NextEventID)
	e.int(s.LastCompletedWFTStartedEventID)
	e.bool(s.WorkflowTask != nil)
	if s.WorkflowTask != nil {
		e.workflowTask(s.WorkflowTask)
	}
	e.uint(uint64(len(s.Activities)))
	for _, k := range orderedKeys(s.Activities) {
		e.int(k)
		e.activity(s.Activities[k])
	}
	e.uint(uint64(len(s.Timers)))
	for _, k := range orderedKeys(s.Timers) {
		t := s.Timers[k]
		e.str(k)
		e.str(t.TimerID)
		e.int(t.StartedEventID)
		e.time(t.FireTime)
	}
	e.uint(uint64(len(s.Buffered)))
	for _, b := range s.Buffered {
		e.bytes(b)
	}
	e.bytes(s.SearchAttributes)
	e.bytes(s.Memo)
	e.uint(uint64(len(s.SignalRequestIDs)))
	for _, k := range orderedKeys(s.SignalRequestIDs) {
		e.str(k)
		e.bool(s.SignalRequestIDs[k])
	}
	e.int(s.SignalCount)
	e.bool(s.CancelRequested)
	e.str(s.CancelRequestID)
	e.uint(uint64(len(s.Children)))
	for _, k := range orderedKeys(s.Children) {
		c := s.Children[k]
		e.int(k)
		e.int(c.InitiatedEventID)
		e.str(c.NamespaceID)
		e.str(c.Namespace)
		e.str(c.WorkflowID)
		e.str(c.WorkflowType)
		e.str(c.RunID)
		e.int(c.StartedEventID)
		e.int(int64(c.ParentClosePolicy))
		e.bytes(c.Initiated)
		e.bytes(c.UserMetadata)
	}
	for _, m := range []map[int64]*ExternalInfo{s.ExternalSignals, s.ExternalCancels} {
		e.uint(uint64(len(m)))
		for _, k := range orderedKeys(m) {
			x := m[k]
			e.int(k)
			e.int(x.InitiatedEventID)
			e.str(x.NamespaceID)
			e.str(x.Namespace)
			e.str(x.WorkflowID)
			e.str(x.RunID)
			e.bytes(x.Initiated)
		}
	}
	e.uint(uint64(len(s.Updates)))
	for _, k := range orderedKeys(s.Updates) {
		u := s.Updates[k]
		e.str(k)
		e.int(int64(u.Stage))
		e.bytes(u.Request)
		e.int(u.SentIn)
		e.int(u.AcceptedEventID)
		e.bytes(u.Outcome)
	}
	e.bytes(s.StartedAttrs)
	e.int(s.StateTransitions)
	e.int(s.HistorySize)
	e.bytes(s.UserMetadata)
}

func (e *encoder) execution(x *ExecutionInfo) {
	e.str(x.NamespaceID)
	e.str(x.WorkflowID)
	e.str(x.RunID)
	e.str(x.FirstRunID)
	e.str(x.WorkflowType)
	e.str(x.TaskQueue)
	e.str(x.CreateRequestID)
	e.int(int64(x.Status))
	e.time(x.StartTime)
	e.time(x.ExecutionTime)
	e.time(x.CloseTime)
	e.dur(x.ExecutionTimeout)
	e.dur(x.RunTimeout)
	e.dur(x.TaskTimeout)
	e.int(x.CloseEventID)
	e.int(int64(x.Attempt))
	e.str(x.CronSchedule)
	e.bool(x.Retry != nil)
	if x.Retry != nil {
		e.retry(x.Retry)
	}
	e.time(x.ExecutionExpiration)
	e.bool(x.Parent != nil)
	if p := x.Parent; p != nil {
		e.str(p.NamespaceID)
		e.str(p.Namespace)
		e.str(p.WorkflowID)
		e.str(p.RunID)
		e.int(p.InitiatedEventID)
	}
	e.str(x.RootWorkflowID)
	e.str(x.RootRunID)
	e.bytes(x.Priority)
	e.bytes(x.LastCompletionResult)
	e.str(x.StickyTaskQueue)
	e.dur(x.StickyScheduleToStart)
}

func (e *encoder) workflowTask(w *WorkflowTaskInfo) {
	e.int(w.ScheduledEventID)
	e.int(w.StartedEventID)
	e.int(int64(w.Attempt))
	e.bool(w.Transient)
	e.bool(w.Speculative)
	e.str(w.TaskQueue)
	e.bool(w.Sticky)
	e.dur(w.Timeout)
	e.time(w.ScheduledTime)
	e.time(w.StartedTime)
	e.str(w.RequestID)
	e.str(w.Identity)
}

func (e *encoder) activity(a *ActivityInfo) {
	e.int(a.ScheduledEventID)
	e.str(a.ActivityID)
	e.str(a.ActivityType)
	e.str(a.TaskQueue)
	e.bytes(a.Scheduled)
	e.time(a.ScheduledTime)
	e.time(a.AttemptScheduledTime)
	e.dur(a.ScheduleToStart)
	e.dur(a.ScheduleToClose)
	e.dur(a.StartToClose)
	e.dur(a.Heartbeat)
	e.retry(&a.Retry)
	e.int(int64(a.Attempt))
	e.bool(a.Started)
	e.time(a.StartedTime)
	e.str(a.RequestID)
	e.str(a.StartedIdentity)
	e.bytes(a.HeartbeatDetails)
	e.time(a.LastHeartbeat)
	e.bytes(a.LastFailure)
	e.str(a.LastWorkerIdentity)
	e.bool(a.CancelRequested)
	e.int(a.CancelRequestEventID)
	e.bool(a.Paused)
	e.time(a.PauseTime)
	e.str(a.PauseIdentity)
	e.str(a.PauseReason)
	e.bool(a.ResetRequested)
	e.bool(a.ResetHeartbeat)
	e.int(int64(a.Stamp))
	e.bytes(a.Priority)
}

func (e *encoder) retry(r *RetryPolicy) {
	e.dur(r.InitialInterval)
	e.uint(math.Float64bits(r.BackoffCoefficient))
	e.dur(r.MaximumInterval)
	e.int(int64(r.MaximumAttempts))
	e.uint(uint64(len(r.NonRetryableTypes)))
	for _, t := range r.NonRetryableTypes {
		e.str(t)
	}
}

// decoder reads what encoder wrote; the first error sticks and every
// later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int32() int32 {
	v := d.int()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("int32 out of range")
		return 0
	}
	return int32(v)
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = errors.New(msg)
	}
}

// count reads a length, bounded by the bytes left (every element takes at
// least one byte), so corrupt input cannot make huge allocations.
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail("length beyond the input")
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.count()
	if d.err != nil || n == 0 {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	r := d.raw()
	if r == nil {
		return nil
	}
	return append([]byte(nil), r...) // the caller may reuse its buffer
}

func (d *decoder) dur() time.Duration { return time.Duration(d.int()) }

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 {
		d.err = errTruncated
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	if v > 1 {
		d.fail("bad bool")
	}
	return v == 1
}

func (d *decoder) time() time.Time {
	if !d.bool() {
		return time.Time{}
	}
	sec := d.int()
	nsec := d.uint()
	if nsec >= 1e9 {
		d.fail("bad nanoseconds")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) state() *State {
	s := &State{}
	d.execution(&s.Execution)
	s.NextEventID = d.int()
	s.LastCompletedWFTStartedEventID = d.int()
	if d.bool() {
		s.WorkflowTask = d.workflowTask()
	}
	if n := d.count(); n > 0 {
		s.Activities = make(map[int64]*ActivityInfo, n)
		for range n {
			k := d.int()
			s.Activities[k] = d.activity()
		}
	}
	if n := d.count(); n > 0 {
		s.Timers = make(map[string]*TimerInfo, n)
		for range n {
			k := d.str()
			s.Timers[k] = &TimerInfo{TimerID: d.str(), StartedEventID: d.int(), FireTime: d.time()}
		}
	}
	if n := d.count(); n > 0 {
		s.Buffered = make([][]byte, n)
		for i := range s.Buffered {
			s.Buffered[i] = d.bytes()
		}
	}
	s.SearchAttributes = d.bytes()
	s.Memo = d.bytes()
	if n := d.count(); n > 0 {
		s.SignalRequestIDs = make(map[string]bool, n)
		for range n {
			k := d.str()
			s.SignalRequestIDs[k] = d.bool()
		}
	}
	s.SignalCount = d.int()
	s.CancelRequested = d.bool()
	s.CancelRequestID = d.str()
	if n := d.count(); n > 0 {
		s.Children = make(map[int64]*ChildInfo, n)
		for range n {
			k := d.int()
			s.Children[k] = &ChildInfo{
				InitiatedEventID: d.int(), NamespaceID: d.str(), Namespace: d.str(), WorkflowID: d.str(),
				WorkflowType: d.str(), RunID: d.str(), StartedEventID: d.int(), ParentClosePolicy: d.int32(),
				Initiated: d.bytes(), UserMetadata: d.bytes(),
			}
		}
	}
	for _, m := range []*map[int64]*ExternalInfo{&s.ExternalSignals, &s.ExternalCancels} {
		if n := d.count(); n > 0 {
			*m = make(map[int64]*ExternalInfo, n)
			for range n {
				k := d.int()
				(*m)[k] = &ExternalInfo{InitiatedEventID: d.int(), NamespaceID: d.str(), Namespace: d.str(),
					WorkflowID: d.str(), RunID: d.str(), Initiated: d.bytes()}
			}
		}
	}
	if n := d.count(); n > 0 {
		s.Updates = make(map[string]*UpdateInfo, n)
		for range n {
			k := d.str()
			s.Updates[k] = &UpdateInfo{Stage: UpdateStage(d.int32()), Request: d.bytes(), SentIn: d.int(),
				AcceptedEventID: d.int(), Outcome: d.bytes()}
		}
	}
	s.StartedAttrs = d.bytes()
	s.StateTransitions = d.int()
	s.HistorySize = d.int()
	s.UserMetadata = d.bytes()
	return s
}

func (d *decoder) execution(x *ExecutionInfo) {
	x.NamespaceID = d.str()
	x.WorkflowID = d.str()
	x.RunID = d.str()
	x.FirstRunID = d.str()
	x.WorkflowType = d.str()
	x.TaskQueue = d.str()
	x.CreateRequestID = d.str()
	x.Status = enumspb.WorkflowExecutionStatus(d.int32())
	x.StartTime = d.time()
	x.ExecutionTime = d.time()
	x.CloseTime = d.time()
	x.ExecutionTimeout = d.dur()
	x.RunTimeout = d.dur()
	x.TaskTimeout = d.dur()
	x.CloseEventID = d.int()
	x.Attempt = d.int32()
	x.CronSchedule = d.str()
	if d.bool() {
		x.Retry = &RetryPolicy{}
		d.retry(x.Retry)
	}
	x.ExecutionExpiration = d.time()
	if d.bool() {
		x.Parent = &ParentInfo{NamespaceID: d.str(), Namespace: d.str(), WorkflowID: d.str(), RunID: d.str(),
			InitiatedEventID: d.int()}
	}
	x.RootWorkflowID = d.str()
	x.RootRunID = d.str()
	x.Priority = d.bytes()
	x.LastCompletionResult = d.bytes()
	x.StickyTaskQueue = d.str()
	x.StickyScheduleToStart = d.dur()
}

func (d *decoder) workflowTask() *WorkflowTaskInfo {
	return &WorkflowTaskInfo{
		ScheduledEventID: d.int(), StartedEventID: d.int(), Attempt: d.int32(), Transient: d.bool(),
		Speculative: d.bool(), TaskQueue: d.str(), Sticky: d.bool(), Timeout: d.dur(),
		ScheduledTime: d.time(), StartedTime: d.time(), RequestID: d.str(), Identity: d.str(),
	}
}

func (d *decoder) activity() *ActivityInfo {
	a := &ActivityInfo{
		ScheduledEventID: d.int(), ActivityID: d.str(), ActivityType: d.str(), TaskQueue: d.str(),
		Scheduled: d.bytes(), ScheduledTime: d.time(), AttemptScheduledTime: d.time(),
		ScheduleToStart: d.dur(), ScheduleToClose: d.dur(), StartToClose: d.dur(), Heartbeat: d.dur(),
	}
	d.retry(&a.Retry)
	a.Attempt = d.int32()
	a.Started = d.bool()
	a.StartedTime = d.time()
	a.RequestID = d.str()
	a.StartedIdentity = d.str()
	a.HeartbeatDetails = d.bytes()
	a.LastHeartbeat = d.time()
	a.LastFailure = d.bytes()
	a.LastWorkerIdentity = d.str()
	a.CancelRequested = d.bool()
	a.CancelRequestEventID = d.int()
	a.Paused = d.bool()
	a.PauseTime = d.time()
	a.PauseIdentity = d.str()
	a.PauseReason = d.str()
	a.ResetRequested = d.bool()
	a.ResetHeartbeat = d.bool()
	a.Stamp = d.int32()
	a.Priority = d.bytes()
	return a
}

func (d *decoder) retry(r *RetryPolicy) {
	r.InitialInterval = d.dur()
	r.BackoffCoefficient = math.Float64frombits(d.uint())
	r.MaximumInterval = d.dur()
	r.MaximumAttempts = d.int32()
	if n := d.count(); n > 0 {
		r.NonRetryableTypes = make([]string, n)
		for i := range r.NonRetryableTypes {
			r.NonRetryableTypes[i] = d.str()
		}
	}
}
