package questionnaire

// ItemScale returns the number of answer points k of item i: the item's own
// Scale, or the questionnaire's when the item sets none. i must be an index
// of q.Items.
func (q Questionnaire) ItemScale(i int) int {
	if k := q.Items[i].Scale; k > 0 {
		return k
	}
	return q.Scale
}

// LabelValue returns the point of the questionnaire's Scale named by text,
// matched against each label's Chinese or English text, ignoring
// surrounding space and the case of English. Labels name the points of
// Scale only: a caller reading an answer to an item with its own scale must
// not accept a label for it.
func (q Questionnaire) LabelValue(text string) (int, bool) {
	key := fold(text)
	if key == "" {
		return 0, false
	}
	for _, l := range q.Labels {
		if fold(l.Text) == key || fold(l.TextEn) == key {
			return l.Value, true
		}
	}
	return 0, false
}

// HasType reports whether code is the code of one of the respondent types.
func (q Questionnaire) HasType(code string) bool {
	for _, rt := range q.RespondentTypes {
		if rt.Code == code {
			return true
		}
	}
	return false
}

// TypeCode returns the code of the respondent type that text names: its
// code, or its Chinese or English name, ignoring surrounding space and the
// case of English. Upload files written by hand give 企业 more often than
// enterprise.
func (q Questionnaire) TypeCode(text string) (string, bool) {
	key := fold(text)
	if key == "" {
		return "", false
	}
	for _, rt := range q.RespondentTypes {
		if rt.Code == key {
			return rt.Code, true
		}
	}
	for _, rt := range q.RespondentTypes {
		if fold(rt.Name) == key || fold(rt.NameEn) == key {
			return rt.Code, true
		}
	}
	return "", false
}

// ItemIndex returns the index in q.Items of the item with code, or -1: the
// index is what Response.Answers is ordered by.
func (q Questionnaire) ItemIndex(code string) int {
	for i, it := range q.Items {
		if it.Code == code {
			return i
		}
	}
	return -1
}
