package jobs

// Artifact is the result of a job that produced a file: Result holds it as
// JSON, and the API serves the file to those who may see the job.
type Artifact struct {
	// File is the path relative to the data directory, with forward slashes.
	File string `json:"file"`
	// Name is the file name offered for download.
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	// Rows counts the records written, where that means something.
	Rows int `json:"rows,omitempty"`
}
