package spark

// The JSON of the Spark UI's monitoring API (/api/v1), reduced to the fields
// the chapters read. Times in milliseconds unless a name says otherwise.

// Application is one entry of /applications.
type Application struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Attempts []AppAttempt `json:"attempts"`
}

// AppAttempt is one attempt of an Application.
type AppAttempt struct {
	StartTime       string `json:"startTime"`
	Duration        int64  `json:"duration"`
	Completed       bool   `json:"completed"`
	AppSparkVersion string `json:"appSparkVersion"`
	SparkUser       string `json:"sparkUser"`
}

// Job is one entry of /applications/<id>/jobs.
type Job struct {
	JobID             int      `json:"jobId"`
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	SubmissionTime    string   `json:"submissionTime"`
	CompletionTime    string   `json:"completionTime"`
	StageIDs          []int    `json:"stageIds"`
	JobTags           []string `json:"jobTags"`
	Status            string   `json:"status"` // RUNNING, SUCCEEDED, FAILED, UNKNOWN
	NumTasks          int      `json:"numTasks"`
	NumCompletedTasks int      `json:"numCompletedTasks"`
	NumSkippedTasks   int      `json:"numSkippedTasks"`
	NumFailedTasks    int      `json:"numFailedTasks"`
	NumSkippedStages  int      `json:"numSkippedStages"`
}

// Stage is one entry of /applications/<id>/stages: one attempt of a stage,
// with its task metrics summed.
type Stage struct {
	Status              string `json:"status"` // ACTIVE, COMPLETE, FAILED, PENDING, SKIPPED
	StageID             int    `json:"stageId"`
	AttemptID           int    `json:"attemptId"`
	Name                string `json:"name"` // for Spark Connect, the start of the plan: label stages yourself
	NumTasks            int    `json:"numTasks"`
	NumCompleteTasks    int    `json:"numCompleteTasks"`
	NumFailedTasks      int    `json:"numFailedTasks"`
	NumKilledTasks      int    `json:"numKilledTasks"`
	SubmissionTime      string `json:"submissionTime"`
	CompletionTime      string `json:"completionTime"`
	ExecutorRunTime     int64  `json:"executorRunTime"`
	ExecutorCPUTime     int64  `json:"executorCpuTime"` // nanoseconds
	InputRecords        int64  `json:"inputRecords"`
	InputBytes          int64  `json:"inputBytes"`
	ShuffleReadRecords  int64  `json:"shuffleReadRecords"`
	ShuffleReadBytes    int64  `json:"shuffleReadBytes"`
	ShuffleWriteRecords int64  `json:"shuffleWriteRecords"`
	ShuffleWriteBytes   int64  `json:"shuffleWriteBytes"`
	MemoryBytesSpilled  int64  `json:"memoryBytesSpilled"`
	DiskBytesSpilled    int64  `json:"diskBytesSpilled"`
}

// Task is one entry of /applications/<id>/stages/<stage>/<attempt>/taskList.
type Task struct {
	TaskID       int64       `json:"taskId"`
	Index        int         `json:"index"`
	Attempt      int         `json:"attempt"`
	PartitionID  int         `json:"partitionId"`
	LaunchTime   string      `json:"launchTime"`
	Duration     int64       `json:"duration"` // launch to end, including scheduling
	ExecutorID   string      `json:"executorId"`
	Host         string      `json:"host"`
	TaskLocality string      `json:"taskLocality"` // PROCESS_LOCAL ... ANY
	Status       string      `json:"status"`       // SUCCESS, FAILED, KILLED, RUNNING
	Speculative  bool        `json:"speculative"`
	TaskMetrics  *RawMetrics `json:"taskMetrics"` // nil while a task runs
	ErrorMessage string      `json:"errorMessage"`
}

// RawMetrics is a Task's taskMetrics object.
type RawMetrics struct {
	ExecutorDeserializeTime int64 `json:"executorDeserializeTime"`
	ExecutorRunTime         int64 `json:"executorRunTime"`
	ExecutorCPUTime         int64 `json:"executorCpuTime"` // nanoseconds
	JVMGCTime               int64 `json:"jvmGcTime"`
	ResultSize              int64 `json:"resultSize"`
	MemoryBytesSpilled      int64 `json:"memoryBytesSpilled"`
	DiskBytesSpilled        int64 `json:"diskBytesSpilled"`
	PeakExecutionMemory     int64 `json:"peakExecutionMemory"`
	InputMetrics            struct {
		BytesRead   int64 `json:"bytesRead"`
		RecordsRead int64 `json:"recordsRead"`
	} `json:"inputMetrics"`
	ShuffleReadMetrics struct {
		RemoteBlocksFetched int64 `json:"remoteBlocksFetched"`
		LocalBlocksFetched  int64 `json:"localBlocksFetched"`
		FetchWaitTime       int64 `json:"fetchWaitTime"`
		RemoteBytesRead     int64 `json:"remoteBytesRead"`
		LocalBytesRead      int64 `json:"localBytesRead"`
		RecordsRead         int64 `json:"recordsRead"`
	} `json:"shuffleReadMetrics"`
	ShuffleWriteMetrics struct {
		BytesWritten   int64 `json:"bytesWritten"`
		WriteTime      int64 `json:"writeTime"` // nanoseconds
		RecordsWritten int64 `json:"recordsWritten"`
	} `json:"shuffleWriteMetrics"`
}

// Execution is one entry of /applications/<id>/sql: one SQL query, with
// its physical plan when asked for with details.
type Execution struct {
	ID              int64             `json:"id"`
	Status          string            `json:"status"` // RUNNING, COMPLETED, FAILED
	Description     string            `json:"description"`
	PlanDescription string            `json:"planDescription"`
	SubmissionTime  string            `json:"submissionTime"`
	Duration        int64             `json:"duration"`
	RunningJobIDs   []int             `json:"runningJobIds"`
	SuccessJobIDs   []int             `json:"successJobIds"`
	FailedJobIDs    []int             `json:"failedJobIds"`
	ModifiedConfigs map[string]string `json:"modifiedConfigs"`
	Nodes           []PlanNode        `json:"nodes"`
}

// PlanNode is one operator of an Execution's plan with its SQL metrics
// (values are the UI's formatted strings, like "100,000" or "0.0 B").
type PlanNode struct {
	NodeID   int64  `json:"nodeId"`
	NodeName string `json:"nodeName"`
	Desc     string `json:"desc"`
	Metrics  []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"metrics"`
}
