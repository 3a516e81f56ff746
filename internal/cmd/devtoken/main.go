// Command devtoken prints a development JWT for the local API (make token).
//
//	devtoken -user u1 -org o1 [-roles admin,viewer] [-ttl 1h]
//
// The token is signed with HS256 using JWT_HS256_SECRET, or else the
// JWT_HS256_SECRET of the local development secrets file .local/secrets.env,
// which the local API writes on its first start. JWT_ISSUER, JWT_AUDIENCE and
// JWT_ORG_CLAIM, when set, shape the token as the verifier expects.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/config"
)

// defaultSecretsFile is where the local API keeps its generated dev secrets.
const defaultSecretsFile = ".local/secrets.env"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs passed in, for tests. It returns
// the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("devtoken", flag.ContinueOnError)
	fset.SetOutput(stderr)
	user := fset.String("user", "", "user id (sub); required")
	org := fset.String("org", "", "organization id; required")
	roles := fset.String("roles", "", "comma-separated roles, e.g. admin")
	ttl := fset.Duration("ttl", time.Hour, "token lifetime")
	file := fset.String("secrets-file", defaultSecretsFile, "local development secrets file (KEY=VALUE lines)")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if *user == "" || *org == "" {
		fmt.Fprintln(stderr, "devtoken: -user and -org are required")
		fset.Usage()
		return 2
	}

	secret, err := hs256Secret(getenv, *file)
	if err != nil {
		fmt.Fprintln(stderr, "devtoken:", err)
		return 1
	}
	token, err := auth.Issue([]byte(secret), auth.DevClaims{
		UserID:   *user,
		OrgID:    *org,
		Roles:    config.SplitList(*roles),
		Issuer:   getenv("JWT_ISSUER"),
		Audience: getenv("JWT_AUDIENCE"),
		TTL:      *ttl,
	}, getenv("JWT_ORG_CLAIM"))
	if err != nil {
		fmt.Fprintln(stderr, "devtoken:", err)
		return 1
	}
	fmt.Fprintln(stdout, token)
	return 0
}

// hs256Secret finds the signing secret: the environment first, then the
// local secrets file.
func hs256Secret(getenv func(string) string, path string) (string, error) {
	if s := getenv("JWT_HS256_SECRET"); s != "" {
		return s, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no JWT_HS256_SECRET in the environment and no %s: start the local API once (make run) to generate it, or set JWT_HS256_SECRET", path)
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	vars, err := config.ParseEnvFile(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if s := vars["JWT_HS256_SECRET"]; s != "" {
		return s, nil
	}
	return "", fmt.Errorf("%s has no JWT_HS256_SECRET: set JWT_HS256_SECRET, or delete the file and start the local API again", path)
}
