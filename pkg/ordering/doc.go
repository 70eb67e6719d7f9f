// Package ordering is chapter 08's code: per-key order in Kafka and what
// it costs. A key goes to one partition, chosen exactly as the Java client
// chooses it (Partition wraps franz-go's Kafka-compatible partitioner); a
// partition is read by one consumer of a group, so a key's order is kept
// and a hot key is bounded by one partition and one consumer. Workload
// generates per-user sequence numbers with uniform, Zipf and hot-user
// traffic; package history holds the types the order checker works on;
// the experiments (parallelism against partition count, adding
// partitions, retries with several requests in flight) run on kfake and
// on a real broker alike.
package ordering
