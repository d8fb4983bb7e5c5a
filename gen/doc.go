// Package gen generates a deterministic, realistic audit workload: events
// in stele's input schema (docs/schema.md) that look like the traffic of a
// mid-sized company, for tests, demos and benchmarks of ingestion and
// search. It owns the workload model and nothing else: it imports nothing
// from stele, and sending events anywhere is the caller's job (Send takes an
// append function).
//
// # Determinism
//
// The same Options give byte-identical output, in any process and at any
// GOMAXPROCS: a Generator is single-threaded, its random numbers come from
// its own wyrand stream seeded by Options.Seed (never from math/rand, whose
// algorithms may change between Go releases), and no map order or clock is
// consulted. Floating-point functions (log, exp, pow) are the only
// platform-dependent step, so the bytes are guaranteed stable across runs of
// one binary, and in practice across builds for the same architecture.
//
// # The workload and its parameters
//
// Population (Options.Actors, default 10,000). One actor in 200 is a service
// account (at least one), one in 100 an admin (type "admin"), the rest
// users (type "user"). People have ids u-00001... (five digits, more when
// needed) and names "First Last" from 40×40 names, some not ASCII. Service
// accounts have one of ten roles (etl, monitoring, api, k8s, ci, deployer,
// secrets, backup, billing, scheduler) and role names (svc-etl, svc-deployer,
// svc-vault-agent, ...; svc-etl-2 once the names run out); a role scales the
// weight of each action category, so svc-deployer deploys and
// svc-vault-agent reads secrets. Activity follows Zipf's law with s = 1.1,
// separately for people (ranks shuffled by the seed) and for service
// accounts (rank = order above): with 10,000 actors the top 1 % of people
// cause about 45 % of the people's events. Each person has a home network
// (corporate 10.0.0.0/8 70 %, VPN 172.16.0.0/12 15 %, IPv6 2001:db8::/32
// 10 %, external 203.0.113.0/24 or 198.51.100.0/24 5 %), a home address in
// it, a VPN address, and a usual user agent (browsers mostly, some CLIs).
// An event comes from the home address 88 % of the time, the VPN one 9 %,
// and a random external one 3 %. Service accounts use internal addresses
// 10.240.0.0/16 and client-library agents. A person's session_id rotates:
// a successful login starts a session, logout, expiry or revocation ends it,
// and a session older than 10 hours is replaced; failed logins carry none.
//
// Actions. About 220 actions in ten categories (authentication,
// authorization, account, configuration, deployment, data, api, system,
// secret, billing), each with a relative frequency for users, admins and
// service accounts, a resource type, a reporting service, a failure and a
// denial probability, and 1-3 attributes. Reads, logins and sessions
// dominate (db.read, api.call, bucket.object.get, user.login, ...); changes
// to permissions, keys and infrastructure are rare, and mostly by admins.
// Generator.Actions lists them with their expected shares.
//
// Outcomes. Failures are about 3 % overall (user.login about 4.5 % before
// bursts), denials about 1 % (more on IAM and secrets), unknown 0.3 % (2 %
// on actions that report before they finish, such as deploy.start), the rest
// success. Brute-force bursts: after any event, with probability 1e-5, an
// attack starts from one external address with an attack-tool agent: 20-300
// user.login failures 30 ms-1.5 s apart, against one account (a real one or
// a guessed name like "admin") or a different account each time; a tenth of
// single-target bursts end with a success. Bursts are about 0.16 % of events.
//
// Time. The span is the Options.Days days (default 30) ending at
// Options.End (default 2026-11-23T00:00:00Z), and Options.Events (default
// 1,000,000) events fill it in nondecreasing time order, microsecond
// resolution. The density is people's activity plus machine activity. People
// follow an office day in UTC: a ramp from 07:00, a plateau 09:00-17:00 with
// a lunch dip, a tail to 20:00 and quiet nights; weekends are about a tenth
// of a weekday; each day is scaled by a per-seed factor in [0.85, 1.15].
// Machines run at 12 % of the weekday plateau around the clock, plus 30 %
// from 01:00 to 04:00 (batch jobs). Service accounts act in proportion to
// the machine share of the moment, so nights are mostly machines. About
// two thirds of events fall on weekdays 08:00-19:00. Times come from the
// order statistics of the density, so spacing is random (sub-second at a
// few million events a month) and the last planned event lands just before
// End. Events drawn beyond Options.Events continue past End at the mean rate.
//
// Fields. source.service is one of 19 services (auth, sso, iam, db-proxy,
// vault, deployer, ...) chosen by the action, with a host of it
// (db-proxy-3, or ip-10-116-1-12 for nodes) and, in 40 % of events, its
// internal address. request_id (16 hex digits) is on half the events (90 %
// of api, 10 % of system). message (85 %) is a short template for the
// action's class and outcome, some with the resource id or a number in it.
// attributes hold the action's 1-3 members (region, rows, bytes,
// duration_ms, table, version, commit, grantee, status, ...), values drawn
// to match the outcome where that matters (an HTTP status, an exit code).
// resource (when the action has one) comes from a per-type pool picked with
// Zipf s = 1, with its name half the time. Events are 220-550 bytes of JSON
// input, about 350 on average (about 385 with IDs).
//
// IDs (Options.IDs). Each event gets "id":"gen-<8 hex>-<16 hex>": the first
// part derived from the seed, the second a keyed bijection of the event
// number, so ids are unique within a stream and random-looking.
package gen
