// Command hello is the smallest aws-lambda-go bootstrap: the baseline the
// emulator tests measure the real functions' cold start against.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (map[string]string, error) {
		return map[string]string{"hello": "world"}, nil
	})
}
