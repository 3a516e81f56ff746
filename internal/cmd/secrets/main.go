// Command secrets merges values into the service's Secrets Manager secret
// (make secrets): it reads the secret, changes the keys given, checks the
// result as the functions will parse it, and writes it back. Keys not named
// keep their values, so the generated ones (state_signing_key,
// jwt_hs256_secret, token_encryption_keys) survive.
//
//	secrets -stack automators-connectors-dev nango_secret_key=... google_client_id=...
//	secrets -secret-id <arn> NANGO_WEBHOOK_SIGNING_KEYS=k1,k2
//	secrets -stack ... nango_secret_key=-    (the value is read from stdin)
//
// A key is a key of the service's secret, in lower case or in its local
// upper-case form. List keys take a comma-separated value
// (nango_webhook_signing_keys=k1,k2; token_encryption_keys=id1:<key>,...).
// An empty value clears the key. -stack finds the secret through the
// stack's SecretArn output. It prints the names of the keys it set, never a
// value.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/config"
)

// SecretArnOutput is the stack output that names the secret (template.yaml).
const SecretArnOutput = "SecretArn"

// listKeys are the keys whose value is a JSON list.
var listKeys = map[string]bool{"nango_webhook_signing_keys": true, "token_encryption_keys": true}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, nil))
}

// clients are the AWS APIs the command uses; nil builds them from the
// default configuration (tests pass clients of the emulator).
type clients struct {
	secrets *secretsmanager.Client
	cfn     *cloudformation.Client
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, c *clients) int {
	fs := flag.NewFlagSet("secrets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "CloudFormation stack whose "+SecretArnOutput+" output names the secret")
	secretID := fs.String("secret-id", "", "the secret's name or ARN (instead of -stack)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: secrets (-stack NAME | -secret-id ID) KEY=value [KEY=value ...]")
		fmt.Fprintln(stderr, "keys: "+strings.Join(config.SecretKeys, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*stack == "") == (*secretID == "") || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	changes, err := parseAssignments(fs.Args(), stdin)
	if err != nil {
		fmt.Fprintln(stderr, "secrets:", err)
		return 2
	}
	if c == nil {
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "secrets: aws configuration:", err)
			return 1
		}
		c = &clients{secrets: secretsmanager.NewFromConfig(cfg), cfn: cloudformation.NewFromConfig(cfg)}
	}
	id := *secretID
	if id == "" {
		if id, err = stackSecret(ctx, c.cfn, *stack); err != nil {
			fmt.Fprintln(stderr, "secrets:", err)
			return 1
		}
	}
	version, err := merge(ctx, c.secrets, id, changes)
	if err != nil {
		fmt.Fprintln(stderr, "secrets:", err)
		return 1
	}
	names := make([]string, 0, len(changes))
	for k := range changes {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintf(stdout, "set %s in %s (version %s); functions read it within 5 minutes, or at their next cold start\n", strings.Join(names, ", "), id, version)
	return 0
}

// parseAssignments turns KEY=value arguments into the JSON values to set,
// by secret key. A value "-" is read from stdin (one line), so that it stays
// out of the shell's history; only one key may do so.
func parseAssignments(args []string, stdin io.Reader) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(args))
	usedStdin := false
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		key := strings.ToLower(strings.TrimSpace(name))
		if !ok || key == "" {
			return nil, fmt.Errorf("%q is not KEY=value", name)
		}
		if !slices.Contains(config.SecretKeys, key) {
			return nil, fmt.Errorf("unknown key %q (keys: %s)", name, strings.Join(config.SecretKeys, ", "))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("key %s given twice", key)
		}
		if value == "-" {
			if usedStdin {
				return nil, errors.New("only one key can read its value from stdin")
			}
			usedStdin = true
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: read stdin: %w", key, err)
			}
			value = strings.TrimRight(line, "\r\n")
		}
		raw, err := jsonValue(key, strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[key] = raw
	}
	return out, nil
}

// jsonValue encodes one value as the secret document holds it.
func jsonValue(key, value string) (json.RawMessage, error) {
	var v any = value
	switch {
	case key == "token_encryption_keys":
		keys := []map[string]string{}
		for i, item := range config.SplitList(value) {
			id, k, ok := strings.Cut(item, ":")
			if !ok || strings.TrimSpace(id) == "" {
				return nil, fmt.Errorf("entry %d is not id:<key>", i)
			}
			keys = append(keys, map[string]string{"id": strings.TrimSpace(id), "key": strings.TrimSpace(k)})
		}
		v = keys
	case listKeys[key]:
		items := config.SplitList(value)
		if items == nil {
			items = []string{}
		}
		v = items
	}
	return json.Marshal(v)
}

// stackSecret returns the secret named by a stack's SecretArn output.
func stackSecret(ctx context.Context, cfn *cloudformation.Client, stack string) (string, error) {
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return "", fmt.Errorf("describe stack %s: %w", stack, err)
	}
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			if aws.ToString(o.OutputKey) == SecretArnOutput && aws.ToString(o.OutputValue) != "" {
				return aws.ToString(o.OutputValue), nil
			}
		}
	}
	return "", fmt.Errorf("stack %s has no %s output", stack, SecretArnOutput)
}

// merge reads the secret, sets changes, checks that the functions will parse
// the result, and writes it as a new version. It returns that version's id.
// Errors never quote the document.
func merge(ctx context.Context, sm *secretsmanager.Client, id string, changes map[string]json.RawMessage) (string, error) {
	cur, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", id, err)
	}
	doc := map[string]json.RawMessage{}
	if s := aws.ToString(cur.SecretString); strings.TrimSpace(s) != "" {
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return "", fmt.Errorf("secret %s is not a JSON object; fix it in the console first", id)
		}
	}
	for k, v := range changes {
		doc[k] = v
	}
	merged, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encode secret: %w", err)
	}
	if _, err := config.ParseSecretsJSON(merged); err != nil {
		return "", fmt.Errorf("not written: %w", err)
	}
	put, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: cur.ARN, SecretString: aws.String(string(merged))})
	if err != nil {
		return "", fmt.Errorf("write secret %s: %w", id, err)
	}
	return aws.ToString(put.VersionId), nil
}
