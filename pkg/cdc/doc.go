// Package cdc reads committed changes out of PostgreSQL's write-ahead log:
// log-based change data capture with logical replication, the way Debezium
// and every outbox relay built on the log do it.
//
// PostgreSQL decodes its WAL through an output plugin (pgoutput, built in)
// for a publication (the tables to capture) and sends it down a
// replication connection. A replication slot remembers, on the server,
// how far the consumer has confirmed: its confirmed_flush_lsn. After a
// crash the consumer reconnects and the server replays every transaction
// that committed after that point. So the guarantee is at-least-once, and
// it is only as good as the positions the consumer confirms.
//
// A Stream hands out whole committed transactions (Txn), in commit order;
// a rolled-back transaction is never decoded. The consumer processes one,
// publishes its changes (to Kafka, say), and only then calls Ack with the
// transaction's EndLSN. The Stream confirms that position to the server,
// never more, so whatever was received but not yet processed when the
// consumer dies is sent again.
//
// # The pitfall this package is built around
//
// The standby status update a consumer sends has three positions: written,
// flushed, applied. pglogrepl.SendStandbyStatusUpdate replaces a zero flush
// position with the write position, and many consumers set the write
// position to the end of WAL the server reported in its keepalive. The
// server then moves confirmed_flush_lsn past records the consumer had
// received but not processed, and after a crash they are never sent again:
// silent loss (ConduitIO/conduit-connector-postgres#313, 2026; see also
// jackc/pglogrepl#40 on persisting the flushed position yourself). A Stream
// sends the acknowledged position in all three fields and answers
// keepalives with it too, never with the server's WAL end. The package's
// tests reproduce the loss with the bad acknowledgement and show it gone
// with the good one.
//
// # Setup
//
// The server needs wal_level=logical (make postgres sets it) and a role
// with the REPLICATION attribute. Setup creates the publication; Open
// creates the slot when it does not exist. A slot holds WAL on the server
// until it is confirmed: drop slots you no longer read (DropSlot), or the
// disk fills. SlotStatus shows how much WAL a slot retains.
//
// Identifiers (slot, publication, tables) are checked against
// PostgreSQL's unquoted identifier rules before they reach a replication
// command, which cannot take parameters.
package cdc
