package main

import "testing"

func TestAnswerError(t *testing.T) {
	tests := []struct {
		name, payload string
		wantError     bool
	}{
		{"http success", `{"statusCode":200,"body":"{}"}`, false},
		{"http no content", `{"statusCode":204}`, false},
		{"http error", `{"statusCode":404,"body":"{\"error\":{\"code\":\"not_found\"}}"}`, true},
		{"lambda error", `{"errorType":"Connectors.ConnectionNotFound","errorMessage":"no connection"}`, true},
		{"executor output", `{"status":"succeeded","output":{}}`, false},
		{"not json", `oops`, false},
	}
	for _, tt := range tests {
		if got := answerError([]byte(tt.payload)); (got != "") != tt.wantError {
			t.Errorf("%s: answerError = %q, want error %v", tt.name, got, tt.wantError)
		}
	}
}
