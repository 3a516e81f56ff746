package deploycheck

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// emfNamespace is the namespace of the application's own metrics (EMF).
const emfNamespace = "AutomatorsConnectors"

// emfDimensions is the contract of the EMF metrics the code emits: each
// metric with the dimension sets it is published under (nil: no dimension).
// An alarm on any other name or dimension set would watch nothing.
var emfDimensions = map[string][][]string{
	"Requests":          {{"Function"}, {"Function", "ErrorCode"}},
	"ClientErrors":      {{"Function"}, {"Function", "ErrorCode"}},
	"ServerErrors":      {{"Function"}, {"Function", "ErrorCode"}},
	"Latency":           {{"Function"}, {"Function", "ErrorCode"}},
	"Executions":        {{"Outcome"}, {"Connector", "Action", "Target", "Outcome"}},
	"ProviderLatency":   {{"Connector"}},
	"Attempts":          {{"Connector"}},
	"IdempotentReplays": {{"Connector"}},
	"HistoryFailures":   {nil},
	"Refreshes":         {nil, {"Provider"}},
	"RefreshFailures":   {nil, {"Provider"}},
	"ReauthRequired":    {nil, {"Provider"}},
	"SweepVisited":      {nil},
	"SweepRefreshed":    {nil},
	"SweepFailed":       {nil},
	"OutboundCalls":     {{"Function", "Target"}},
}

// watched is one metric an alarm reads.
type watched struct {
	Namespace, Name string
	Dims            map[string]string // dimension name -> its value as JSON
}

// alarmMetrics returns the metrics an alarm reads: its single metric, or
// every MetricStat of its metric math.
func alarmMetrics(r resource) []watched {
	dims := func(v any) map[string]string {
		out := map[string]string{}
		l, _ := v.([]any)
		for _, d := range l {
			m, _ := d.(map[string]any)
			name, _ := m["Name"].(string)
			out[name] = jsonString(m["Value"])
		}
		return out
	}
	if name, ok := r.Properties["MetricName"].(string); ok {
		ns, _ := r.Properties["Namespace"].(string)
		return []watched{{ns, name, dims(r.Properties["Dimensions"])}}
	}
	var out []watched
	l, _ := r.Properties["Metrics"].([]any)
	for _, q := range l {
		qm, _ := q.(map[string]any)
		stat, _ := qm["MetricStat"].(map[string]any)
		m, _ := stat["Metric"].(map[string]any)
		if m == nil {
			continue
		}
		ns, _ := m["Namespace"].(string)
		name, _ := m["MetricName"].(string)
		out = append(out, watched{ns, name, dims(m["Dimensions"])})
	}
	return out
}

// alarms returns the template's alarms by logical id.
func alarms(doc transformed) map[string]resource {
	out := map[string]resource{}
	for id, r := range doc.Resources {
		if r.Type == "AWS::CloudWatch::Alarm" {
			out[id] = r
		}
	}
	return out
}

// findAlarm returns the ids of the alarms reading a metric of namespace
// ns and name with exactly the dimensions dims (values as JSON).
func findAlarm(all map[string]resource, ns, name string, dims map[string]string) []string {
	var ids []string
	for id, r := range all {
		for _, m := range alarmMetrics(r) {
			if m.Namespace == ns && m.Name == name && maps.Equal(m.Dims, dims) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// TestAlarmsNotifyTheTopic: the alarm topic, its e-mail subscription only
// when AlarmEmail is set, and every alarm notifying the topic both ways
// with a threshold the deployer can set.
func TestAlarmsNotifyTheTopic(t *testing.T) {
	doc, _ := translate(t)
	if doc.Resources["AlarmTopic"].Type != "AWS::SNS::Topic" {
		t.Fatalf("AlarmTopic: type %q, want AWS::SNS::Topic", doc.Resources["AlarmTopic"].Type)
	}
	if d, ok := doc.Parameters["AlarmEmail"]["Default"]; !ok || d != "" {
		t.Errorf("AlarmEmail default %v (present %v), want empty: no subscription unless asked", d, ok)
	}
	var subs int
	for id, r := range doc.Resources {
		if r.Type != "AWS::SNS::Subscription" {
			continue
		}
		subs++
		if ref(r.Properties["TopicArn"]) != "AlarmTopic" || r.Properties["Protocol"] != "email" || ref(r.Properties["Endpoint"]) != "AlarmEmail" {
			t.Errorf("%s: %s, want an e-mail subscription of AlarmEmail to AlarmTopic", id, jsonString(r.Properties))
		}
		cond := jsonString(doc.Conditions[r.Condition])
		if r.Condition == "" || cond != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"AlarmEmail"},""]}]}` {
			t.Errorf("%s: condition %q = %s, want one true only when AlarmEmail is not empty", id, r.Condition, cond)
		}
	}
	if subs != 1 {
		t.Errorf("%d SNS subscriptions, want 1 (AlarmEmail's)", subs)
	}

	all := alarms(doc)
	if len(all) == 0 {
		t.Fatal("no alarm")
	}
	for id, r := range all {
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if got := jsonString(r.Properties[key]); got != `[{"Ref":"AlarmTopic"}]` {
				t.Errorf("%s: %s %s, want [AlarmTopic]", id, key, got)
			}
		}
		if r.Properties["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: TreatMissingData %v, want notBreaching (no traffic is no failure)", id, r.Properties["TreatMissingData"])
		}
		if id == "SweeperDeadLetterQueueAlarm" {
			continue // any message is one too many: a fixed 0
		}
		p := ref(r.Properties["Threshold"])
		if _, ok := doc.Parameters[p]["Default"]; !ok {
			t.Errorf("%s: threshold %v, want a template parameter with a default", id, r.Properties["Threshold"])
		}
	}
}

// TestEveryFunctionHasErrorAndThrottleAlarms: per function of template.yaml,
// an alarm on its AWS/Lambda Errors and one on its Throttles.
func TestEveryFunctionHasErrorAndThrottleAlarms(t *testing.T) {
	doc, tpl := translate(t)
	all := alarms(doc)
	if len(tpl.Functions) == 0 {
		t.Fatal("template.yaml has no function")
	}
	for _, f := range tpl.Functions {
		for _, metric := range []string{"Errors", "Throttles"} {
			dims := map[string]string{"FunctionName": fmt.Sprintf(`{"Ref":%q}`, f.LogicalID)}
			if ids := findAlarm(all, "AWS/Lambda", metric, dims); len(ids) != 1 {
				t.Errorf("%s: alarms on AWS/Lambda %s %v, want one", f.LogicalID, metric, ids)
			}
		}
	}
}

// TestApplicationAlarms: the alarms on the API's 5xx rate, the executor's
// outcomes, refreshes, re-authorizations, the sweeper and its dead-letter
// queue read the metrics the code emits, by name and dimensions.
func TestApplicationAlarms(t *testing.T) {
	doc, _ := translate(t)
	all := alarms(doc)

	// Every EMF metric an alarm reads exists with those dimensions.
	for id, r := range all {
		for _, m := range alarmMetrics(r) {
			if m.Namespace != emfNamespace {
				continue
			}
			sets, ok := emfDimensions[m.Name]
			if !ok {
				t.Errorf("%s reads %s, which the code does not emit", id, m.Name)
				continue
			}
			names := slices.Sorted(maps.Keys(m.Dims))
			if !slices.ContainsFunc(sets, func(set []string) bool { return slices.Equal(slices.Sorted(slices.Values(set)), names) }) {
				t.Errorf("%s reads %s with dimensions %v; it is emitted with %v", id, m.Name, names, sets)
			}
		}
	}

	api := `{"Ref":"ConnectorsHttpApi"}`
	executor := `{"Ref":"ExecuteConnectorFunction"}`
	tests := []struct {
		what       string
		ns, metric string
		dims       map[string]string
	}{
		{"API 5xx", "AWS/ApiGateway", "5xx", map[string]string{"ApiId": api}},
		{"API requests (the 5xx rate's denominator)", "AWS/ApiGateway", "Count", map[string]string{"ApiId": api}},
		{"Connectors.Internal", emfNamespace, "Executions", map[string]string{"Outcome": `"Connectors.Internal"`}},
		{"Connectors.ProviderUnavailable", emfNamespace, "Executions", map[string]string{"Outcome": `"Connectors.ProviderUnavailable"`}},
		{"executor invocations (the rates' denominator)", "AWS/Lambda", "Invocations", map[string]string{"FunctionName": executor}},
		{"refresh failures", emfNamespace, "RefreshFailures", map[string]string{}},
		{"re-authorizations", emfNamespace, "ReauthRequired", map[string]string{}},
		{"sweep failures", emfNamespace, "SweepFailed", map[string]string{}},
		{"execution history not written", emfNamespace, "HistoryFailures", map[string]string{}},
		{"dead-letter queue", "AWS/SQS", "ApproximateNumberOfMessagesVisible", map[string]string{"QueueName": `{"Fn::GetAtt":["SweeperDeadLetterQueue","QueueName"]}`}},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			if ids := findAlarm(all, tt.ns, tt.metric, tt.dims); len(ids) == 0 {
				t.Errorf("no alarm reads %s %s %v", tt.ns, tt.metric, tt.dims)
			}
		})
	}

	// Rates are metric math whose expression names the queries it divides.
	for id, r := range all {
		l, _ := r.Properties["Metrics"].([]any)
		if len(l) == 0 {
			continue
		}
		ids := map[string]bool{}
		var expr string
		for _, q := range l {
			qm, _ := q.(map[string]any)
			qid, _ := qm["Id"].(string)
			ids[qid] = true
			switch e := qm["Expression"].(type) {
			case string:
				expr = e
			case map[string]any:
				expr, _ = e["Fn::Sub"].(string)
			}
		}
		if expr == "" {
			t.Errorf("%s: metric math without an expression", id)
		}
		// The queries' ids, with the ${Parameter}s taken out.
		for _, word := range regexp.MustCompile(`\b[a-z][a-zA-Z0-9_]*\b`).FindAllString(subVar.ReplaceAllString(expr, "0"), -1) {
			if !ids[word] {
				t.Errorf("%s: expression %s names %q, no query of the alarm", id, expr, word)
			}
		}
	}

	dlq := doc.Resources["SweeperDeadLetterQueueAlarm"]
	if jsonString(dlq.Properties["Threshold"]) != "0" || dlq.Properties["ComparisonOperator"] != "GreaterThanThreshold" {
		t.Errorf("dead-letter alarm: %v %v, want > 0", dlq.Properties["ComparisonOperator"], dlq.Properties["Threshold"])
	}
}

// subVar is a ${Name} or ${Resource.Attribute} of Fn::Sub (not ${!Literal}).
var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9:.]+)\}`)

// TestDashboard: the dashboard's body is valid JSON once Fn::Sub has
// replaced its variables (each a parameter, a resource or a pseudo
// parameter), and it draws every EMF metric.
func TestDashboard(t *testing.T) {
	doc, _ := translate(t)
	var body string
	for _, r := range doc.Resources {
		if r.Type != "AWS::CloudWatch::Dashboard" {
			continue
		}
		sub, _ := r.Properties["DashboardBody"].(map[string]any)
		body, _ = sub["Fn::Sub"].(string)
	}
	if body == "" {
		t.Fatal("no dashboard whose DashboardBody is a Fn::Sub string")
	}
	substituted := subVar.ReplaceAllStringFunc(body, func(v string) string {
		name := subVar.FindStringSubmatch(v)[1]
		id, _, _ := strings.Cut(name, ".")
		_, isParam := doc.Parameters[id]
		_, isResource := doc.Resources[id]
		if !isParam && !isResource && !strings.HasPrefix(id, "AWS::") {
			t.Errorf("the dashboard's ${%s} is no parameter, resource or pseudo parameter", name)
		}
		return "x" // no quote or brace, as deployed values have none
	})
	var dash struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(substituted), &dash); err != nil {
		t.Fatalf("the dashboard body is not JSON after substitution: %v", err)
	}
	drawn := map[string]bool{}
	searchMetric := regexp.MustCompile(`\{` + emfNamespace + `[,}].*MetricName="([A-Za-z]+)"`)
	for _, w := range dash.Widgets {
		for _, line := range w.Properties.Metrics {
			if len(line) >= 2 && line[0] == emfNamespace {
				name, _ := line[1].(string)
				drawn[name] = true
			}
			for _, item := range line {
				m, _ := item.(map[string]any)
				expr, _ := m["expression"].(string)
				if g := searchMetric.FindStringSubmatch(expr); g != nil {
					drawn[g[1]] = true
				}
			}
		}
	}
	for name := range emfDimensions {
		if !drawn[name] {
			t.Errorf("the dashboard does not draw %s", name)
		}
	}
	for name := range drawn {
		if _, ok := emfDimensions[name]; !ok {
			t.Errorf("the dashboard draws %s, which the code does not emit", name)
		}
	}
}

// TestTracingLayer: with AdotLayerArn set, every function gets the ADOT
// collector layer and the OTLP endpoint that turns its exporter on; without
// it, neither.
func TestTracingLayer(t *testing.T) {
	doc, tpl := translate(t)
	if d, ok := doc.Parameters["AdotLayerArn"]["Default"]; !ok || d != "" {
		t.Errorf("AdotLayerArn default %v (present %v), want empty", d, ok)
	}
	if got := jsonString(doc.Conditions["HasAdotLayer"]); got != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"AdotLayerArn"},""]}]}` {
		t.Errorf("HasAdotLayer %s, want AdotLayerArn not empty", got)
	}
	for _, f := range tpl.Functions {
		fn := doc.Resources[f.LogicalID]
		if got := jsonString(fn.Properties["Layers"]); got != `{"Fn::If":["HasAdotLayer",[{"Ref":"AdotLayerArn"}],{"Ref":"AWS::NoValue"}]}` {
			t.Errorf("%s: Layers %s, want the ADOT layer when HasAdotLayer", f.LogicalID, got)
		}
		env, _ := fn.Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if got := jsonString(vars["OTEL_EXPORTER_OTLP_ENDPOINT"]); got != `{"Fn::If":["HasAdotLayer","http://localhost:4318",""]}` {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT %s, want the layer's receiver when HasAdotLayer", f.LogicalID, got)
		}
	}
	if tr := jsonString(doc.Resources[tpl.Functions[0].LogicalID].Properties["TracingConfig"]); !strings.Contains(tr, "Active") {
		t.Errorf("TracingConfig %s, want Active", tr)
	}
}
