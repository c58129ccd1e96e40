package client

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The steps of ParseRPC, each on its own. FuzzParseRPC runs them together.

func TestRPCEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name, body              string
		result, session, errMsg string
	}{
		{"list", `{"id":1,"result":[{"status":{}}],"session":"s1"}`, `[{"status":{}}]`, `"s1"`, ""},
		{"object, no session", `{"result": {"status":{}} }`, `{"status":{}}`, ``, ""},
		{"session not a string", `{"result":[1],"session":7}`, `[1]`, `7`, ""},
		{"no result", `{"session":"s"}`, "", "", "a JSON-RPC answer without a result"},
		{"null result", `{"result":null}`, "", "", "a JSON-RPC answer without a result"},
		{"HTML", `  <html>oops</html>`, "", "", "an HTML page instead of JSON-RPC"},
		{"not JSON", `result: ok`, "", "", "an answer that is not JSON-RPC"},
		{"a JSON list", `[{"result":[]}]`, "", "", "an answer that is not JSON-RPC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			result, session, err := rpcEnvelope([]byte(tc.body))
			if msg := errText(err); msg != tc.errMsg || string(result) != tc.result || string(session) != tc.session {
				t.Errorf("rpcEnvelope = %s, %s, %q; want %s, %s, %q", result, session, msg, tc.result, tc.session, tc.errMsg)
			}
		})
	}
}

func TestFirstResult(t *testing.T) {
	for _, tc := range []struct {
		name, result, want, errMsg string
	}{
		{"an object", `{"a":1}`, `{"a":1}`, ""},
		{"a list", `[{"a":1},{"b":2}]`, `{"a":1}`, ""},
		{"a list of numbers", `[1,2]`, `1`, ""}, // readResult refuses it
		{"an empty list", `[]`, "", "a JSON-RPC answer with an empty result"},
		{"a broken list", `[{"a":1}`, "", "a JSON-RPC result that is not a list of objects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := firstResult(json.RawMessage(tc.result))
			if msg := errText(err); msg != tc.errMsg || string(got) != tc.want {
				t.Errorf("firstResult = %s, %q; want %s, %q", got, msg, tc.want, tc.errMsg)
			}
		})
	}
}

func TestReadResult(t *testing.T) {
	for _, tc := range []struct {
		name, item string
		code       int
		message    string
		data       string
		errMsg     string
	}{
		{"ok with data", `{"status":{"code":0,"message":"OK"},"data":{"v":1}}`, 0, "OK", `{"v":1}`, ""},
		{"code as a string", `{"status":{"code":" -11 ","message":"No permission"}}`, -11, "No permission", "", ""},
		{"message not a string", `{"status":{"code":-3,"message":5}}`, -3, "", "", ""},
		{"no message", `{"status":{"code":-6}}`, -6, "", "", ""},
		{"code not numeric", `{"status":{"code":"x"}}`, 0, "", "", "a JSON-RPC status without a numeric code"},
		{"code a fraction", `{"status":{"code":1.5}}`, 0, "", "", "a JSON-RPC status without a numeric code"},
		{"no code", `{"status":{}}`, 0, "", "", "a JSON-RPC status without a numeric code"},
		{"no status", `{"data":{}}`, 0, "", "", "a JSON-RPC result without a status"},
		{"null status", `{"status":null}`, 0, "", "", "a JSON-RPC result without a status"},
		{"not an object", `7`, 0, "", "", "a JSON-RPC result that is not an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := readResult(json.RawMessage(tc.item))
			if msg := errText(err); msg != tc.errMsg {
				t.Fatalf("readResult error %q, want %q", msg, tc.errMsg)
			}
			if err != nil {
				if res != nil {
					t.Errorf("a result with an error: %+v", res)
				}
				return
			}
			if res.Code != tc.code || res.Message != tc.message || string(res.Data) != tc.data || res.Session != "" {
				t.Errorf("readResult = %+v, want code %d, message %q, data %s", res, tc.code, tc.message, tc.data)
			}
		})
	}
}

// TestRPCInOnePass checks which answers the one decode reads, and that ParseRPC reads each as
// the steps do: above all the answers with two results, which the one decode must leave alone.
func TestRPCInOnePass(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		onePass    bool
	}{
		{"get admin", string(rpcGetAdminAnswer), true},
		{"login", string(rpcLoginAnswer), true},
		{"logout", string(rpcLogoutAnswer), true},
		{"refusal, code as a string", `{"result":[{"status":{"code":"-11","message":"No permission"}}]}`, true},
		{"escaped slashes", `{"result":[{"status":{"code":0},"url":"\/sys\/logout"}],"session":"a\/b"}`, true},
		{"session a number", `{"result":[{"status":{"code":0}}],"session":7}`, true},
		{"message an object", `{"result":[{"status":{"code":0,"message":{"m":1}}}]}`, true},
		{"spaced", "{ \"result\" :\n [ {\"status\" : {\"code\" : 0}} ] }", true},
		{"result an object", string(rpcGoneAnswer), false},
		{"no result", `{"id":1}`, false},
		{"no status", `{"result":[{"data":{}}]}`, false},
		{"code not numeric", `{"result":[{"status":{"code":"x"}}]}`, false},
		{"an item not an object", `{"result":[7]}`, false},
		{"a later item not an object", `{"result":[{"status":{"code":0}},7]}`, false},
		{"empty result", `{"result":[]}`, false},
		{"null result", `{"result":null}`, false},
		{"not JSON", `{"result":[`, false},
		{"a unicode escape", `{"result":[{"status":{"code":0,"message":"caf\u00e9"}}]}`, false},
		// Two results: the steps read the last alone, the one decode would read it into the first.
		{"two results", `{"result":[{"status":{"code":0},"data":{"a":1}}],"result":[{"status":{"message":"m"}}]}`, false},
		{"two results, one in capitals", `{"result":[{"status":{"code":0}}],"RESULT":[{"data":1}]}`, false},
		{"two results, one escaped", `{"result":[{"status":{"code":0}}],"r\u0065sult":[{"data":1}]}`, false},
		{"two results, one with a long s", `{"result":[{"status":{"code":0}}],"reſult":[{"data":1}]}`, false},
		{"two results, the last a success", `{"result":[{"data":1}],"Result":[{"status":{"code":0}}]}`, false},
		{"the word in the data", `{"result":[{"status":{"code":0},"data":{"result":1}}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			one, ok := rpcInOnePass(body)
			if ok != tc.onePass {
				t.Errorf("rpcInOnePass read it: %v, want %v", ok, tc.onePass)
			}
			steps, stepsErr := rpcInSteps(body)
			if ok && (stepsErr != nil || !reflect.DeepEqual(one, steps)) {
				t.Errorf("one pass %+v; steps %+v, %v", one, steps, stepsErr)
			}
			res, err := ParseRPC(body)
			if !reflect.DeepEqual(res, steps) || errText(err) != errText(stepsErr) {
				t.Errorf("ParseRPC = %+v, %v; steps %+v, %v", res, err, steps, stepsErr)
			}
		})
	}
}

func TestRawString(t *testing.T) {
	for raw, want := range map[string]string{`"abc"`: "abc", `"a\"b"`: `a"b`, `7`: "", `null`: "", ``: "", `{"a":"b"}`: ""} {
		if got := rawString(json.RawMessage(raw)); got != want {
			t.Errorf("rawString(%s) = %q, want %q", raw, got, want)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
