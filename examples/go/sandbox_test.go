// A Go suite with a sandbox of its own, started the way a Testcontainers module would
// start it, with the standard library only: TestMain runs the image on free ports
// (`docker run -P`, or podman: CONTAINER_CLI), waits until /api/v1/ready answers 200
// (failing at once, with the container's log, if the container stops first), runs the
// tests and removes the container.
package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const adminKey = "sk_admin_go_example_0123456789"

var api string // http://127.0.0.1:PORT/api/v1, once TestMain has started the sandbox

func cli() string {
	if name := os.Getenv("CONTAINER_CLI"); name != "" {
		return name
	}
	return "docker"
}

// engine: the container CLI's answer on stdout, or what it said on stderr when it failed.
func engine(args ...string) (string, error) {
	var stderr bytes.Buffer
	command := exec.Command(cli(), args...)
	command.Stderr = &stderr
	out, err := command.Output()
	if err != nil {
		return strings.TrimSpace(stderr.String()), err
	}
	return strings.TrimSpace(string(out)), nil
}

// combined: what the container engine printed on both streams (`logs` replays the
// container's stdout and stderr on its own).
func combined(args ...string) (string, error) {
	out, err := exec.Command(cli(), args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestMain(m *testing.M) {
	image := os.Getenv("MYPAY_SANDBOX_IMAGE")
	if image == "" {
		image = "mypay-sandbox:latest"
	}
	id, err := engine("run", "-d", "-P", "-e", "SANDBOX_ADMIN_KEY="+adminKey, "-e", "SANDBOX_TIME_SCALE=0", image)
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start %s: %s\n", image, id)
		os.Exit(2)
	}
	code := 2
	if err := waitReady(id, 120*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	engine("rm", "-f", "-v", id)
	os.Exit(code)
}

// waitReady: until /api/v1/ready answers 200, or the container stops (its log in the error).
func waitReady(id string, within time.Duration) error {
	binding, err := engine("port", id, "8000/tcp")
	if err != nil {
		return fmt.Errorf("no port for 8000: %s", binding)
	}
	port := binding[strings.LastIndex(strings.Split(binding, "\n")[0], ":")+1:]
	api = "http://127.0.0.1:" + port + "/api/v1"
	client := http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if response, err := client.Get(api + "/ready"); err == nil {
			response.Body.Close()
			if response.StatusCode == 200 {
				return nil
			}
		}
		if running, _ := engine("inspect", "-f", "{{.State.Running}}", id); running != "true" {
			log, _ := combined("logs", "--tail", "60", id)
			return fmt.Errorf("the sandbox container stopped before it was ready:\n%s", log)
		}
	}
	return fmt.Errorf("the sandbox was not ready within %s", within)
}

func call(t *testing.T, method, path, key string, body any, want int) map[string]any {
	t.Helper()
	var payload bytes.Buffer
	if body != nil {
		json.NewEncoder(&payload).Encode(body)
	}
	request, _ := http.NewRequest(method, api+path, &payload)
	request.Header.Set("X-API-KEY", key)
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("X-Idempotency-Key", fmt.Sprintf("go-%d", time.Now().UnixNano()))
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer response.Body.Close()
	var answer map[string]any
	json.NewDecoder(response.Body).Decode(&answer)
	if response.StatusCode != want {
		t.Fatalf("%s %s answered %d: %v", method, path, response.StatusCode, answer)
	}
	return answer
}

func TestAPayoutWalkedOnAManualClockAndTheVerdict(t *testing.T) {
	made := call(t, "POST", "/sandbox/merchants", adminKey,
		map[string]any{"name": "go test", "opening_balance": "1000000.00", "clock": "manual"}, 201)
	key := made["api_key"].(string)
	payout := call(t, "POST", "/payouts", key, map[string]any{"amount": "1500.00", "currency": "PKR",
		"destination": map[string]any{"type": "bank", "bank_code": "HBL", "account_number": "12345678900001",
			"account_title": "Ali Raza"}}, 201)
	if payout["status"] != "pending" {
		t.Fatalf("a new payout is %v", payout["status"])
	}
	call(t, "POST", "/sandbox/clock/advance", key, map[string]any{"until": "idle"}, 200)
	if got := call(t, "GET", "/payouts/"+payout["id"].(string), key, nil, 200)["status"]; got != "success" {
		t.Fatalf("after the clock moved the payout is %v", got)
	}
	verdict := call(t, "POST", "/sandbox/gate", key, map[string]any{"require_coverage": []string{"success"}}, 200)
	if verdict["held"] != true {
		t.Fatalf("the verdict fell short: %v", verdict)
	}
}
