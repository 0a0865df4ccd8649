package statemachine

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
)

// A final start-to-close timeout carries the details of the last
// heartbeat, as a heartbeat timeout does.
func TestStartToCloseTimeoutKeepsHeartbeatDetails(t *testing.T) {
	r := newRun(t, nil)
	r.complete(r.startWFT("p1"), scheduleActivity("a", time.Minute, &commonpb.RetryPolicy{MaximumAttempts: 1}))
	r.record(StartActivity(r.s, 5, "", "p", "w", r.now))
	details := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("half-way")}}}
	r.record(func() (Output, error) { o, _, err := Heartbeat(r.s, ActivityRef{5, 1}, details, r.now); return o, err }())
	r.advance(time.Minute)
	r.record(TimeoutActivity(r.s, 5, 1, enumspb.TIMEOUT_TYPE_START_TO_CLOSE, r.now))
	r.wantTypes(5, evActSched, evActStarted, evActTimedOut, evWFTSched)
	info := r.history[6].GetActivityTaskTimedOutEventAttributes().GetFailure().GetTimeoutFailureInfo()
	got := info.GetLastHeartbeatDetails().GetPayloads()
	if info.GetTimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE || len(got) != 1 || string(got[0].GetData()) != "half-way" {
		t.Fatalf("timed-out failure = %+v, want start-to-close with the heartbeat details", info)
	}
}
