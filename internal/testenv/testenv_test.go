package testenv

import (
	"net/http"
	"testing"

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
