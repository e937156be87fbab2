package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAzuriteStartsRestartsAndStops(t *testing.T) {
	a := StartAzurite(t)
	for _, u := range []string{a.BlobURL, a.QueueURL, a.TableURL} {
		resp, err := http.Get(u)
		require.NoError(t, err, u)
		resp.Body.Close()
	}
	a.Restart(t)
	resp, err := http.Get(a.QueueURL)
	require.NoError(t, err)
	resp.Body.Close()
	a.Stop()
	_, err = http.Get(a.QueueURL)
	require.Error(t, err, "azurite still answers after Stop")
}

func TestStripeMockAnswers(t *testing.T) {
	m := StartStripeMock(t, "")
	req, _ := http.NewRequest("GET", m.URL+"/v1/checkout/sessions/cs_test_123", nil)
	req.Header.Set("Authorization", "Bearer sk_test_123")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}

// TestProcessStopsItsGroup: Stop ends what the process started too, and
// WaitOutput reads only the output of this start of a shared log.
func TestProcessStopsItsGroup(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out.log")
	require.NoError(t, os.WriteFile(log, []byte("child 1\n"), 0o644))
	p, err := StartProcess("sh", "", log, nil, "sh", "-c", `sleep 60 & echo "child $!"; wait`)
	require.NoError(t, err)
	m, err := p.WaitOutput(context.Background(), regexp.MustCompile(`child (\d+)`), 1, 10*time.Second)
	require.NoError(t, err)
	child, err := strconv.Atoi(m[0][1])
	require.NoError(t, err)
	require.NotEqual(t, 1, child, "the line of an earlier start is not read")
	require.True(t, alive(child))
	p.Stop()
	require.True(t, p.Exited())
	for i := 0; alive(child) && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	require.False(t, alive(child), "the process's child outlived Stop")
	p.Stop() // a second Stop does nothing
}

func TestProcessWaitOutputSaysWhyNot(t *testing.T) {
	p, err := StartProcess("false", "", filepath.Join(t.TempDir(), "out.log"), nil, "sh", "-c", "echo no luck; exit 3")
	require.NoError(t, err)
	_, err = p.WaitOutput(context.Background(), regexp.MustCompile(`listening`), 1, 10*time.Second)
	require.ErrorContains(t, err, "false exited (exit status 3): no luck")
	require.Error(t, p.Err())
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}
