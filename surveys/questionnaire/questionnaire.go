// Package questionnaire describes a satisfaction survey as data: its items,
// answer scale and labels, respondent types and attention check, and one
// respondent's answer sheet (Response). It is pure: no database, HTTP or
// upload-file code (only the questionnaire's own YAML/JSON form, read
// strictly by Parse), so that the upload reader, the quality screens and
// the index computation share one vocabulary.
package questionnaire

import "time"

// Questionnaire is one survey instrument. A scheme indicator with source
// "survey:<Code>" takes its values from projects fielding this questionnaire.
type Questionnaire struct {
	// Code identifies the questionnaire, for example "satisfaction".
	Code   string `json:"code" yaml:"code"`
	Name   string `json:"name" yaml:"name"`
	NameEn string `json:"name_en,omitempty" yaml:"name_en,omitempty"`
	// Scale is the number of answer points k of every item that does not
	// set its own (default 5). Answers run from 1 to k, k being best.
	Scale int `json:"scale" yaml:"scale"`
	// Labels name the points of Scale, for example 非常满意 → 5. An upload may
	// give an answer as its label (Chinese or English) or as its number.
	Labels          []Label          `json:"labels" yaml:"labels"`
	RespondentTypes []RespondentType `json:"respondent_types" yaml:"respondent_types"`
	Items           []Item           `json:"items" yaml:"items"`
	// Attention, if set, is an instructed-response item ("please choose
	// 不满意 here"); it is never scored, and a respondent whose answer differs
	// from Expect is flagged.
	Attention *AttentionCheck `json:"attention_check,omitempty" yaml:"attention_check,omitempty"`
}

// Label is the text of one point of the answer scale.
type Label struct {
	Value  int    `json:"value" yaml:"value"`
	Text   string `json:"text" yaml:"text"`
	TextEn string `json:"text_en,omitempty" yaml:"text_en,omitempty"`
}

// RespondentType is a kind of respondent, for example 企业 (enterprise).
// Post-stratification weights are given per type.
type RespondentType struct {
	Code   string `json:"code" yaml:"code"`
	Name   string `json:"name" yaml:"name"`
	NameEn string `json:"name_en,omitempty" yaml:"name_en,omitempty"`
}

// Item is one scored question.
type Item struct {
	Code   string `json:"code" yaml:"code"`
	Text   string `json:"text" yaml:"text"`
	TextEn string `json:"text_en,omitempty" yaml:"text_en,omitempty"`
	// Scale overrides the questionnaire's Scale for this item; 0 means the
	// questionnaire's.
	Scale int `json:"scale,omitempty" yaml:"scale,omitempty"`
	// Weight in the respondent score (default 1).
	Weight float64 `json:"weight,omitempty" yaml:"weight,omitempty"`
	// Reverse marks a negatively worded item: its answer x counts as k+1−x.
	Reverse bool `json:"reverse,omitempty" yaml:"reverse,omitempty"`
	// Group names the grid the item belongs to; straight-lining is judged
	// per group.
	Group string `json:"group,omitempty" yaml:"group,omitempty"`
	// Optional items may be left unanswered; every other item is required.
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// AttentionCheck is an instructed-response item and its expected answer.
type AttentionCheck struct {
	Code   string `json:"code" yaml:"code"`
	Text   string `json:"text" yaml:"text"`
	TextEn string `json:"text_en,omitempty" yaml:"text_en,omitempty"`
	Expect int    `json:"expect" yaml:"expect"`
}

// Response is one respondent's answer sheet, as read from an upload and
// checked against the questionnaire and the project.
type Response struct {
	// Row is the line of the source file (the header is row 1).
	Row            int
	Region         string
	RespondentType string
	// RespondentID is the survey tool's id for the respondent, if any.
	RespondentID string
	// ContactHash is the keyed hash of the respondent's contact (phone or
	// e-mail), if any; the contact itself is never kept.
	ContactHash string
	// Seconds is the completion time; negative when the file has none.
	Seconds float64
	// SubmittedAt is when the answers were submitted; zero when unknown.
	SubmittedAt time.Time
	// Answers holds one raw answer (1…k, not reverse-coded) per entry of
	// Questionnaire.Items, in that order; 0 is no answer.
	Answers []uint8
	// Attention is the answer to the attention check; 0 when there is none.
	Attention uint8
}
