package frontend

import (
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/config"
)

// Validation messages, worded as the reference server words them so that
// clients and tests written against Temporal see the same text.
var (
	errNamespaceNotSet        = serviceerror.NewInvalidArgument("Namespace not set on request.")
	errNamespaceTooLong       = serviceerror.NewInvalidArgument("Namespace length exceeds limit.")
	errTaskTokenNotSet        = serviceerror.NewInvalidArgument("Task token not set on request.")
	errDeserializingToken     = serviceerror.NewInvalidArgument("Error deserializing task token.")
	errTokenNamespaceMismatch = serviceerror.NewInvalidArgument("Operation requested with a token from a different namespace.")
	errExecutionNotSet        = serviceerror.NewInvalidArgument("Execution is not set on request.")
	errInvalidRunID           = serviceerror.NewInvalidArgument("Invalid RunId.")
	errTaskQueueReserved      = serviceerror.NewInvalidArgument("Task queue name cannot start with reserved prefix " + reservedTaskQueuePrefix + ".")
	errTaskQueueWhitespace    = serviceerror.NewInvalidArgument("TaskQueue name must not contain leading or trailing whitespace.")
	errBlobSizeExceedsLimit   = serviceerror.NewInvalidArgument("Blob data size exceeds limit.")
	errMemoSizeExceedsLimit   = serviceerror.NewInvalidArgument("Memo size exceeds limit.")
)

const reservedTaskQueuePrefix = "/_sys/"

// Dynamic-config keys and defaults of the limits the frontend enforces.
const (
	keyMaxIDLength        = "limit.maxIDLength"
	keyBlobSizeError      = "limit.blobSize.error"
	keyBlobSizeWarn       = "limit.blobSize.warn"
	keyMemoSizeError      = "limit.memoSize.error"
	keyHistoryMaxPageSize = "limit.historyMaxPageSize"

	defaultMaxIDLength        = 1000
	defaultBlobSizeError      = 2 << 20
	defaultBlobSizeWarn       = 512 << 10
	defaultMemoSizeError      = 2 << 20
	defaultHistoryMaxPageSize = 256
)

// limits is one consistent read of the dynamic limits for a request.
type limits struct {
	maxIDLength        int
	blobSizeError      int
	blobSizeWarn       int
	memoSizeError      int
	historyMaxPageSize int
	// logger receives the warnings for blobs over blobSizeWarn; nil: none.
	logger *slog.Logger
}

func readLimits(d *config.Dynamic) limits {
	return limits{
		maxIDLength:        d.Int(keyMaxIDLength, defaultMaxIDLength),
		blobSizeError:      d.Int(keyBlobSizeError, defaultBlobSizeError),
		blobSizeWarn:       d.Int(keyBlobSizeWarn, defaultBlobSizeWarn),
		memoSizeError:      d.Int(keyMemoSizeError, defaultMemoSizeError),
		historyMaxPageSize: d.Int(keyHistoryMaxPageSize, defaultHistoryMaxPageSize),
	}
}

// validateRequiredID checks a required identifier field: "<field> is not set
// on request." when empty, "<field> length exceeds limit." when too long.
func validateRequiredID(value, field string, lim limits) error {
	if value == "" {
		return serviceerror.NewInvalidArgument(field + " is not set on request.")
	}
	return validateOptionalID(value, field, lim)
}

// validateOptionalID checks the length of an optional identifier field.
func validateOptionalID(value, field string, lim limits) error {
	if len(value) > lim.maxIDLength {
		return serviceerror.NewInvalidArgument(field + " length exceeds limit.")
	}
	return nil
}

// validateTaskQueue checks a task queue and normalizes an unspecified kind
// to NORMAL. Names under the reserved "/_sys/" prefix are partitions the
// server addresses internally and may not be used by clients.
func validateTaskQueue(tq *taskqueuepb.TaskQueue, lim limits) error {
	if err := validateRequiredID(tq.GetName(), "TaskQueue", lim); err != nil {
		return err
	}
	name := tq.GetName()
	if strings.HasPrefix(name, reservedTaskQueuePrefix) {
		return errTaskQueueReserved
	}
	if strings.TrimFunc(name, unicode.IsSpace) != name {
		return errTaskQueueWhitespace
	}
	switch tq.GetKind() {
	case enumspb.TASK_QUEUE_KIND_UNSPECIFIED:
		tq.Kind = enumspb.TASK_QUEUE_KIND_NORMAL
	case enumspb.TASK_QUEUE_KIND_NORMAL:
	case enumspb.TASK_QUEUE_KIND_STICKY:
		if err := validateOptionalID(tq.GetNormalName(), "TaskQueue", lim); err != nil {
			return err
		}
	default:
		return serviceerror.NewInvalidArgument("Invalid TaskQueue kind.")
	}
	return nil
}

// validateRunID accepts an empty run ID (meaning the current run) or a UUID.
func validateRunID(runID string) error {
	if runID == "" {
		return nil
	}
	if _, err := uuid.Parse(runID); err != nil {
		return errInvalidRunID
	}
	return nil
}

// validateEnum rejects enum numbers the API does not define (proto3 lets
// any number through the wire).
func validateEnum(v protoreflect.Enum, field string) error {
	if v.Descriptor().Values().ByNumber(v.Number()) == nil {
		return serviceerror.NewInvalidArgument("Invalid " + field + ".")
	}
	return nil
}

// maxDuration caps every duration a client sends: 100 years, which is
// "forever" for a workflow and keeps deadline arithmetic far from overflow.
const maxDuration = 100 * 365 * 24 * time.Hour

// durationValue reads an optional non-negative duration; nil is zero. A
// negative or malformed value yields the given error; values above
// maxDuration are capped rather than rejected.
func durationValue(d *durationpb.Duration, invalid error) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	secs, nanos := d.GetSeconds(), d.GetNanos()
	if secs < 0 || nanos < 0 || nanos >= 1e9 {
		return 0, invalid
	}
	if secs >= int64(maxDuration/time.Second) {
		return maxDuration, nil
	}
	v := time.Duration(secs)*time.Second + time.Duration(nanos)
	if v > maxDuration {
		v = maxDuration
	}
	return v, nil
}

// validateRetryPolicy checks p and fills Temporal's defaults into unset
// fields (initial interval 1 s, coefficient 2.0, maximum interval 100x the
// initial one). nil is valid (no retries). MaximumAttempts == 1 disables
// retries, so the other fields are not checked.
func validateRetryPolicy(p *commonpb.RetryPolicy) error {
	if p == nil || p.GetMaximumAttempts() == 1 {
		return nil
	}
	initial, err := durationValue(p.GetInitialInterval(),
		serviceerror.NewInvalidArgument("InitialInterval cannot be negative on retry policy."))
	if err != nil {
		return err
	}
	if p.GetBackoffCoefficient() != 0 && p.GetBackoffCoefficient() < 1 {
		return serviceerror.NewInvalidArgument("BackoffCoefficient cannot be less than 1 on retry policy.")
	}
	maximum, err := durationValue(p.GetMaximumInterval(),
		serviceerror.NewInvalidArgument("MaximumInterval cannot be negative on retry policy."))
	if err != nil {
		return err
	}
	if initial == 0 {
		initial = time.Second
	}
	if maximum > 0 && maximum < initial {
		return serviceerror.NewInvalidArgument("MaximumInterval cannot be less than InitialInterval on retry policy.")
	}
	if p.GetMaximumAttempts() < 0 {
		return serviceerror.NewInvalidArgument("MaximumAttempts cannot be negative on retry policy.")
	}
	if maximum == 0 {
		maximum = min(100*initial, maxDuration)
	}
	if p.GetBackoffCoefficient() == 0 {
		p.BackoffCoefficient = 2.0
	}
	p.InitialInterval = durationpb.New(initial)
	p.MaximumInterval = durationpb.New(maximum)
	return nil
}

// validateBlob rejects a message (payloads, header, failure) whose encoded
// size exceeds the blob limit. A nil message has size zero.
func validateBlob(m proto.Message, lim limits) error {
	size := proto.Size(m)
	if size > lim.blobSizeError {
		return errBlobSizeExceedsLimit
	}
	if size > lim.blobSizeWarn && lim.logger != nil {
		lim.logger.Warn("blob data size exceeds the warning limit", "size", size, "warn_limit", lim.blobSizeWarn, "error_limit", lim.blobSizeError)
	}
	return nil
}

// validateMemo rejects a memo over the memo limit.
func validateMemo(m *commonpb.Memo, lim limits) error {
	if proto.Size(m) > lim.memoSizeError {
		return errMemoSizeExceedsLimit
	}
	return nil
}
