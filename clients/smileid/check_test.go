package smileid

import "testing"

func TestChecks(t *testing.T) {
	for _, u := range []string{"https://example.com/cb", "https://example.com"} {
		if err := CheckHTTPSURL("callback_url", u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://example.com/cb", "https://u:p@example.com/cb", "https://example.com/cb?x=1", "https://example.com/cb#f", "https:///cb", "%"} {
		if err := CheckHTTPSURL("callback_url", u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := CheckResultCodes([]string{"1220", "0810"}); err != nil {
		t.Errorf("codes refused: %v", err)
	}
	for _, c := range []string{"122", "12x0", "12200", "١٢٢٠"} {
		if err := CheckResultCodes([]string{"1220", c}); err == nil {
			t.Errorf("%q accepted", c)
		}
	}
}
