package frontend

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stubAnswers reports whether calling method on a zero handler reaches
// the generated Unimplemented stub. A real handler, given a zero receiver
// and an empty request, either answers something else or panics on its
// missing dependencies; both mean "implemented".
func stubAnswers(t *testing.T, handler any, method string) (stub bool) {
	t.Helper()
	m := reflect.ValueOf(handler).MethodByName(method)
	if !m.IsValid() {
		t.Fatalf("%s has no method %s", reflect.TypeOf(handler), method)
	}
	defer func() {
		if recover() != nil {
			stub = false
		}
	}()
	req := reflect.New(m.Type().In(1).Elem())
	out := m.Call([]reflect.Value{reflect.ValueOf(context.Background()), req})
	err, _ := out[1].Interface().(error)
	st, ok := status.FromError(err)
	return err != nil && ok && st.Code() == codes.Unimplemented &&
		st.Message() == "method "+method+" not implemented"
}

// TestUnimplementedFeatures checks that every public method without a
// handler is answered with a message naming its feature, and that no
// method with a handler is shadowed by the table.
func TestUnimplementedFeatures(t *testing.T) {
	services := []struct {
		handler any
		desc    grpc.ServiceDesc
	}{
		{&Handler{}, workflowservice.WorkflowService_ServiceDesc},
		{&OperatorHandler{}, operatorservice.OperatorService_ServiceDesc},
	}
	seen := map[string]bool{}
	for _, s := range services {
		for _, md := range s.desc.Methods {
			seen[md.MethodName] = true
			stub := stubAnswers(t, s.handler, md.MethodName)
			err := unimplementedError("/" + s.desc.ServiceName + "/" + md.MethodName)
			switch {
			case stub && err == nil:
				t.Errorf("%s has no handler and no feature in unimplementedFeature", md.MethodName)
			case !stub && err != nil:
				t.Errorf("%s has a handler but unimplementedFeature shadows it", md.MethodName)
			case err != nil:
				st := serviceerror.ToStatus(err)
				if st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "not implemented by Sundial yet (method "+md.MethodName+")") {
					t.Errorf("%s: answer %v", md.MethodName, err)
				}
			}
		}
	}
	for m := range unimplementedFeature {
		if !seen[m] {
			t.Errorf("unimplementedFeature lists %s, which no service has", m)
		}
	}
}
