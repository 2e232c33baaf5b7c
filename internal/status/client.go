package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// SocketPath is the unix socket, beside the state file, on which the
// daemon always serves /status, /metrics and /healthz (memqos status
// uses it).
func SocketPath(state string) string { return state + ".sock" }

// Fetch asks the daemon serving on the unix socket sock for its status;
// it returns the decoded status and the JSON as served.
func Fetch(ctx context.Context, sock string) (Status, []byte, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://memqos/status", nil)
	if err != nil {
		return Status{}, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Status{}, nil, fmt.Errorf("no memqos daemon answers on %s (is it running, with this state file?): %w", sock, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Status{}, nil, err
	}
	var st Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, nil, fmt.Errorf("status from %s: %w", sock, err)
	}
	return st, raw, nil
}
