package coldstart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/automators/connectors/internal/tstest/lambdarie"
	"github.com/automators/connectors/internal/tstest/syncbuf"
)

// runtimeAPI is a fake Lambda Runtime API on loopback for one bootstrap
// process: it notes when the first GET .../invocation/next arrives (the
// bootstrap makes it as soon as its init is done), answers it with the
// event, notes the function's answer, and holds every later /next open
// until the process is gone.
type runtimeAPI struct {
	event []byte
	fn    string
	ln    net.Listener
	srv   *http.Server

	mu     sync.Mutex
	nexts  int
	ready  chan time.Time // the first /next
	answer chan reply     // the first invocation's response or error
	failed chan string    // an init error the bootstrap reported
}

// reply is the function's answer to the first invocation.
type reply struct {
	at      time.Time
	payload []byte
}

const runtimePrefix = "/2018-06-01/runtime"

func startRuntimeAPI(fn string, event []byte) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rt := &runtimeAPI{
		event: event, fn: fn, ln: ln,
		ready: make(chan time.Time, 1), answer: make(chan reply, 1), failed: make(chan string, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimePrefix+"/invocation/next", rt.next)
	mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/response", rt.reply)
	mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/error", rt.reply)
	mux.HandleFunc("POST "+runtimePrefix+"/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case rt.failed <- string(body):
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = &http.Server{Handler: mux}
	go rt.srv.Serve(ln)
	return rt, nil
}

// addr is the value of AWS_LAMBDA_RUNTIME_API: host:port.
func (rt *runtimeAPI) addr() string { return rt.ln.Addr().String() }

func (rt *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	now := time.Now() // first thing: the end of init
	rt.mu.Lock()
	rt.nexts++
	n := rt.nexts
	rt.mu.Unlock()
	if n > 1 {
		// No second invocation: wait, as Lambda does, until the process
		// (or the server) goes away.
		<-r.Context().Done()
		return
	}
	rt.ready <- now
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", "coldstart-1")
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:"+rt.fn)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
	h.Set("Content-Type", "application/json")
	w.Write(rt.event)
}

func (rt *runtimeAPI) reply(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	select {
	case rt.answer <- reply{at: now, payload: body}:
	default:
	}
	w.WriteHeader(http.StatusAccepted)
}

func (rt *runtimeAPI) close() { rt.srv.Close() }

// run is one bootstrap process's figures, from its start.
type run struct {
	init   time.Duration // to its first GET /next: its init
	answer time.Duration // to its answer to the first invocation (init + first invocation)
}

// measure starts s's bootstrap against a fresh fake Runtime API, with the
// environment Lambda (and lambdarie) gives a function plus env, and
// returns when it asked for its first invocation and when it answered it;
// then it kills the process. It fails when the bootstrap exits or reports
// an init error before asking, or answers with a failed start or an HTTP
// 5xx (answered).
func measure(ctx context.Context, s subject, env []string) (run, error) {
	rt, err := startRuntimeAPI(s.name, s.event)
	if err != nil {
		return run{}, err
	}
	defer rt.close()

	var logs syncbuf.Buffer
	cmd := exec.Command(s.bin)
	cmd.Dir = filepath.Dir(s.bin)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + rt.addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + s.name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
	}, env...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return run{}, fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	fail := func(err error) (run, error) {
		cmd.Process.Kill()
		return run{}, fmt.Errorf("%w\nlogs:\n%s", err, logs.String())
	}
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()

	var r run
	select {
	case at := <-rt.ready:
		r.init = at.Sub(start)
	case msg := <-rt.failed:
		return fail(fmt.Errorf("init error: %s", msg))
	case err := <-exited:
		exited <- err // for the deferred wait
		return fail(fmt.Errorf("exited during init: %v", err))
	case <-timeout.C:
		return fail(errors.New("no GET /next within a minute"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	select {
	case a := <-rt.answer:
		r.answer = a.at.Sub(start)
		if err := answered(&lambdarie.Result{StatusCode: http.StatusOK, Payload: a.payload}); err != nil {
			return fail(err)
		}
	case err := <-exited:
		exited <- err
		return fail(fmt.Errorf("exited during the first invocation: %v", err))
	case <-timeout.C:
		return fail(errors.New("no answer within a minute"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	return r, nil
}
