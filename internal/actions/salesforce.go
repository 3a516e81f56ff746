package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

const (
	// sObjectName is a standard or custom object's API name (Account,
	// Invoice__c); a field's API name has the same form.
	sObjectName = `^[A-Za-z][A-Za-z0-9_]*$`
	// salesforceID is a record id: 15 characters (case-sensitive) or 18
	// (the case-insensitive form).
	salesforceID = `^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`
)

// salesforceNoID refuses an Id field in a record's field values: the
// guide says "Do not specify Id or an external ID field in the request
// body" (create, upsert), and an update names its record in the URI.
// Field names are case-insensitive. (That the body also lacks the
// upsert's own external ID field is left to Salesforce: JSON Schema
// cannot compare one parameter's value with another's keys.)
const salesforceNoID = `{"propertyNames":{"not":{"pattern":"^[Ii][Dd]$"}}}`

// salesforceSaveResult is the body Salesforce answers a create or upsert
// with (salesforce-rest.json: required id, success, errors; created from
// API 46.0 on an upsert).
const salesforceSaveResult = `{"type":"object","required":["id","success","errors"],"properties":{
	"id":{"type":"string","description":"The record's id."},
	"success":{"type":"boolean"},
	"errors":{"type":"array"},
	"created":{"type":"boolean","description":"Upsert only: true when a record was created, false when one was updated."}}}`

// salesforceActions builds the connector's actions.
//
// Salesforce REST API (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta),
// at the connection's instance_url; provider-specs/salesforce-rest.json
// transcribes the guide's pages for each operation. Failures are
// [{"message","errorCode","fields"}]. Every action needs the OAuth scope
// "api" (access to the REST API).
func salesforceActions() connector {
	return connector{provider: &provider{id: "salesforce", auth: bearer, classify: salesforceClassify}, actions: []*spec{
		{
			name:  "create_record",
			write: true,
			// Not safe to retry: a repeat creates a second record (use
			// upsert_record with an external ID for that).
			credential: registry.CredentialConnection,
			operation:  "salesforce-rest.json sobject-basic-info-post",
			scopes:     []string{"api"},
			params: []Param{
				{Name: "sobject", Kind: String, Required: true, Pattern: sObjectName, Segment: true, Description: "The object's API name, e.g. Account or Invoice__c."},
				{Name: "fields", Kind: Object, Required: true, Schema: salesforceNoID, Description: "The new record's field values by field API name; not Id."},
			},
			output: salesforceSaveResult,
			// POST /sobjects/{sObject}/ with the record's fields.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/sobjects/"+a.str("sobject")+"/"
				return c.json(a.obj("fields"))
			},
		},
		{
			name:       "query",
			credential: registry.CredentialConnection,
			operation:  "salesforce-rest.json query",
			scopes:     []string{"api"},
			params: []Param{
				{Name: "soql", Kind: String, Required: true, Description: "A SOQL query, e.g. SELECT Id, Name FROM Account."},
			},
			output: `{"type":"object","required":["totalSize","done","records"],"properties":{
				"totalSize":{"type":"integer"},
				"done":{"type":"boolean","description":"false when more records are at nextRecordsUrl."},
				"nextRecordsUrl":{"type":"string"},
				"records":{"type":"array","items":{"type":"object"}}}}`,
			// GET /query/?q=SOQL
			build: func(a args, _ Request, c *call) error {
				c.path = "/query/"
				c.query = url.Values{"q": {a.str("soql")}}
				return nil
			},
		},
		{
			name:  "update_record",
			write: true,
			// Safe to retry: the PATCH sets the same values again.
			credential: registry.CredentialConnection,
			operation:  "salesforce-rest.json sobject-rows-patch",
			scopes:     []string{"api"},
			params: []Param{
				{Name: "sobject", Kind: String, Required: true, Pattern: sObjectName, Segment: true, Description: "The object's API name, e.g. Account."},
				{Name: "id", Kind: String, Required: true, Pattern: salesforceID, Segment: true, Description: "The record's id (15 or 18 characters)."},
				{Name: "fields", Kind: Object, Required: true, Schema: salesforceNoID, Description: "The field values to change, by field API name; the others keep theirs."},
			},
			// 204 No Content: Run returns {}.
			output: `{"type":"object","additionalProperties":false,"description":"Nothing: Salesforce answers 204 No Content."}`,
			// PATCH /sobjects/{sObject}/{id}/ with the fields to change.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPatch, "/sobjects/"+a.str("sobject")+"/"+a.str("id")+"/"
				return c.json(a.obj("fields"))
			},
		},
		{
			name:       "get_record",
			credential: registry.CredentialConnection,
			operation:  "salesforce-rest.json sobject-rows-get",
			scopes:     []string{"api"},
			params: []Param{
				{Name: "sobject", Kind: String, Required: true, Pattern: sObjectName, Segment: true, Description: "The object's API name, e.g. Account."},
				{Name: "id", Kind: String, Required: true, Pattern: salesforceID, Segment: true, Description: "The record's id (15 or 18 characters)."},
				{Name: "fields", Kind: Strings, Pattern: sObjectName, Description: "The fields to return (all when omitted), by API name."},
			},
			output: `{"type":"object","required":["attributes"],"properties":{
				"attributes":{"type":"object","properties":{"type":{"type":"string"},"url":{"type":"string"}}},
				"Id":{"type":"string"}},
				"description":"The record: its fields and their values."}`,
			// GET /sobjects/{sObject}/{id}/?fields=a,b
			build: func(a args, _ Request, c *call) error {
				c.path = "/sobjects/" + a.str("sobject") + "/" + a.str("id") + "/"
				if a.has("fields") {
					c.query = url.Values{"fields": {joinComma(a.strs("fields"))}}
				}
				return nil
			},
		},
		{
			name:  "upsert_record",
			write: true,
			// Safe to retry: the external ID names the record, so a repeat
			// updates the record the first request created.
			credential: registry.CredentialConnection,
			operation:  "salesforce-rest.json sobject-rows-by-external-id-upsert",
			scopes:     []string{"api"},
			params: []Param{
				{Name: "sobject", Kind: String, Required: true, Pattern: sObjectName, Segment: true, Description: "The object's API name, e.g. Account."},
				{Name: "external_id_field", Kind: String, Required: true, Pattern: sObjectName, Segment: true, Description: "The external ID field's API name, e.g. customExtIdField__c."},
				{Name: "external_id", Kind: String, Required: true, SingleLine: true, Segment: true, Max: 255, Description: "The external ID value that names the record."},
				{Name: "fields", Kind: Object, Required: true, Schema: salesforceNoID, Description: "The record's field values; neither Id nor the external ID field."},
				{Name: "update_only", Kind: Bool, Description: "Update a matching record, never create one (updateOnly)."},
			},
			output: salesforceSaveResult,
			// PATCH /sobjects/{sObject}/{fieldName}/{fieldValue}: 201 when
			// created, 200 when updated, 300 when the value matches more
			// than one record (salesforceUpsertClassify).
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPatch
				c.path = "/sobjects/" + a.str("sobject") + "/" + a.str("external_id_field") + "/" + seg(a.str("external_id"))
				if v, ok := a.boolean("update_only"); ok && v {
					c.query = url.Values{"updateOnly": {"true"}}
				}
				return c.json(a.obj("fields"))
			},
			classify: salesforceUpsertClassify,
		},
	}}
}

// salesforceClassify reads what the status alone does not say: an org
// over its API request limits answers 403 with errorCode
// REQUEST_LIMIT_EXCEEDED (salesforce-rest.json errors.403), a rate
// limit rather than a refusal.
func salesforceClassify(status int, body []byte) (code, message string) {
	if status != http.StatusForbidden {
		return "", ""
	}
	var errs []struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &errs) != nil {
		return "", ""
	}
	for _, e := range errs {
		if e.ErrorCode == "REQUEST_LIMIT_EXCEEDED" {
			return connectors.ERateLimited, e.ErrorCode + ": " + e.Message
		}
	}
	return "", ""
}

// salesforceUpsertClassify maps 300 Multiple Choices, "an external ID
// exists in more than one record", whose body lists the matching
// records' URLs, to EUpstream: nothing was created or updated.
func salesforceUpsertClassify(status int, body []byte) (code, message string) {
	if status != http.StatusMultipleChoices {
		return "", ""
	}
	var urls []string
	_ = json.Unmarshal(bytes.TrimSpace(body), &urls) // the list is only for the message
	return connectors.EUpstream, fmt.Sprintf("the external ID matches %d records, so none was created or updated: %v", len(urls), urls)
}
