"""Transforms template.yaml with aws-sam-translator, as CloudFormation's
AWS::Serverless transform does at deploy time, and prints the result as JSON.

usage: transform.py TEMPLATE [PARAMETERS_JSON]

Local CodeUri and DefinitionUri paths become S3 placeholders first, as
`sam package` would make them. Managed policy names are not looked up (no AWS
call): the check needs none of their ARNs.
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoPolicies:
    def load(self):
        return {}


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(sys.argv[1]) as f:
        template = yaml_parse(f.read())
    params = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://placeholder/code.zip"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["DefinitionUri"] = "s3://placeholder/definition.json"
    json.dump(transform(template, params, NoPolicies()), sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
