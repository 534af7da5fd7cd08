#include "store/migrations.hpp"

#include <chrono>

#include "core/error.hpp"

namespace bihuan::store {

namespace {

// Version 1: the population registry, accounts and audit.
constexpr const char* kV1 = R"SQL(
CREATE TABLE areas (
  code {text} PRIMARY KEY,
  name {text} NOT NULL,
  level INTEGER NOT NULL,
  parent_code {text} NOT NULL DEFAULT '',
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX areas_parent ON areas (parent_code, code);

CREATE TABLE buildings (
  id {pk},
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL UNIQUE
);
CREATE INDEX buildings_area ON buildings (area_code);

CREATE TABLE households (
  id {pk},
  household_no {text} NOT NULL UNIQUE,
  building_id {i64} REFERENCES buildings (id),
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX households_area ON households (area_code);
CREATE INDEX households_building ON households (building_id) WHERE building_id IS NOT NULL;

CREATE TABLE orgs (
  id {pk},
  code {text} NOT NULL UNIQUE,
  name {text} NOT NULL,
  kind {text} NOT NULL,
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  phone {text} NOT NULL DEFAULT '',
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX orgs_area ON orgs (area_code);
CREATE INDEX orgs_name ON orgs (name);

CREATE TABLE venues (
  id {pk},
  code {text} NOT NULL UNIQUE,
  name {text} NOT NULL,
  type {text} NOT NULL,
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  capacity {i64} NOT NULL DEFAULT 0,
  enclosed INTEGER NOT NULL DEFAULT 1,
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX venues_area ON venues (area_code);
CREATE INDEX venues_name ON venues (name);

CREATE TABLE persons (
  id {pk},
  doc_type {text} NOT NULL,
  doc_number {text} NOT NULL,
  nationality {text} NOT NULL,
  name {text} NOT NULL,
  sex {text} NOT NULL,
  birth_date {text} NOT NULL DEFAULT '',
  phone {text} NOT NULL DEFAULT '',
  household_id {i64} REFERENCES households (id),
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  workplace_org_id {i64} REFERENCES orgs (id),
  merged_into {i64} REFERENCES persons (id),
  created_at {i64} NOT NULL,
  updated_at {i64} NOT NULL,
  rev {i64} NOT NULL DEFAULT 1,
  UNIQUE (doc_type, doc_number, nationality)
);
CREATE INDEX persons_name ON persons (name, birth_date);
CREATE INDEX persons_phone ON persons (phone);
CREATE INDEX persons_area ON persons (area_code, merged_into);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_birth ON persons (birth_date);
CREATE INDEX persons_doc_number ON persons (doc_number);
CREATE INDEX persons_org ON persons (workplace_org_id) WHERE workplace_org_id IS NOT NULL;
CREATE INDEX persons_merged ON persons (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE person_merges (
  id {pk},
  kept_id {i64} NOT NULL REFERENCES persons (id),
  merged_id {i64} NOT NULL REFERENCES persons (id),
  by_user {i64} NOT NULL DEFAULT 0,
  at {i64} NOT NULL,
  moved {text} NOT NULL DEFAULT '{}',
  undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX person_merges_kept ON person_merges (kept_id);
CREATE INDEX person_merges_merged ON person_merges (merged_id);

CREATE TABLE users (
  id {pk},
  username {text} NOT NULL UNIQUE,
  display_name {text} NOT NULL DEFAULT '',
  password_hash {text} NOT NULL DEFAULT '',
  role {text} NOT NULL,
  scope_area {text} NOT NULL DEFAULT '',
  scope_org {i64} NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  created_at {i64} NOT NULL
);

CREATE TABLE sessions (
  token_hash {text} PRIMARY KEY,
  user_id {i64} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at {i64} NOT NULL,
  expires_at {i64} NOT NULL,
  ip {text} NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
  id {pk},
  user_id {i64} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name {text} NOT NULL DEFAULT '',
  token_hash {text} NOT NULL UNIQUE,
  created_at {i64} NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit_log (
  id {pk},
  at {i64} NOT NULL,
  user_id {i64} NOT NULL DEFAULT 0,
  username {text} NOT NULL DEFAULT '',
  action {text} NOT NULL,
  entity {text} NOT NULL DEFAULT '',
  entity_id {i64} NOT NULL DEFAULT 0,
  ip {text} NOT NULL DEFAULT '',
  reason {text} NOT NULL DEFAULT '',
  detail {text} NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

CREATE TABLE settings (
  key {text} PRIMARY KEY,
  value {text} NOT NULL
);
)SQL";

constexpr const char* kV1Sqlite = R"SQL(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)SQL";

constexpr const char* kV1Pg = R"SQL(
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
)SQL";

// Version 2: closed-loop management (control orders, handovers, checks, tests, alerts,
// quarantine rooms, arrival manifests) and the watcher's pending deadlines.
constexpr const char* kV2 = R"SQL(
CREATE TABLE control_orders (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  group_key {text} NOT NULL,
  profile {text} NOT NULL,
  source {text} NOT NULL,
  status {text} NOT NULL DEFAULT 'active',
  start_date {text} NOT NULL,
  plan_json {text} NOT NULL DEFAULT '{}',
  release_date {text} NOT NULL DEFAULT '',
  stage {text} NOT NULL,
  owner_kind {text} NOT NULL,
  owner_org {i64} NOT NULL DEFAULT 0,
  owner_area {text} NOT NULL DEFAULT '',
  since {i64} NOT NULL,
  pending_handover {i64} NOT NULL DEFAULT 0,
  pending_kind {text} NOT NULL DEFAULT '',
  pending_org {i64} NOT NULL DEFAULT 0,
  pending_area {text} NOT NULL DEFAULT '',
  destination_area {text} NOT NULL DEFAULT '',
  note {text} NOT NULL DEFAULT '',
  created_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0
);
CREATE INDEX control_orders_person ON control_orders (person_id);
CREATE INDEX control_orders_owner_org ON control_orders (owner_org, status) WHERE owner_kind = 'org';
CREATE INDEX control_orders_owner_area ON control_orders (owner_area, status) WHERE owner_kind = 'area';
CREATE INDEX control_orders_pending_org ON control_orders (pending_org) WHERE pending_kind = 'org';
CREATE INDEX control_orders_pending_area ON control_orders (pending_area) WHERE pending_kind = 'area';
CREATE INDEX control_orders_status ON control_orders (status, stage);

CREATE TABLE order_stages (
  id {pk},
  order_id {i64} NOT NULL REFERENCES control_orders (id),
  stage {text} NOT NULL,
  owner_kind {text} NOT NULL,
  owner_org {i64} NOT NULL DEFAULT 0,
  owner_area {text} NOT NULL DEFAULT '',
  since {i64} NOT NULL
);
CREATE INDEX order_stages_order ON order_stages (order_id, since);

CREATE TABLE handovers (
  id {pk},
  order_id {i64} NOT NULL REFERENCES control_orders (id),
  from_stage {text} NOT NULL,
  to_stage {text} NOT NULL,
  sender_kind {text} NOT NULL,
  sender_org {i64} NOT NULL DEFAULT 0,
  sender_area {text} NOT NULL DEFAULT '',
  receiver_kind {text} NOT NULL,
  receiver_org {i64} NOT NULL DEFAULT 0,
  receiver_area {text} NOT NULL DEFAULT '',
  sent_at {i64} NOT NULL,
  sent_by {i64} NOT NULL DEFAULT 0,
  vehicle {text} NOT NULL DEFAULT '',
  escort {text} NOT NULL DEFAULT '',
  deadline {i64} NOT NULL,
  acknowledged_at {i64},
  acknowledged_by {i64} NOT NULL DEFAULT 0,
  ack_note {text} NOT NULL DEFAULT ''
);
CREATE INDEX handovers_order ON handovers (order_id);
CREATE INDEX handovers_receiver_org ON handovers (receiver_org, acknowledged_at);
CREATE INDEX handovers_receiver_area ON handovers (receiver_area, acknowledged_at);
CREATE INDEX handovers_sender_org ON handovers (sender_org, acknowledged_at);
CREATE INDEX handovers_sender_area ON handovers (sender_area, acknowledged_at);

CREATE TABLE health_checks (
  id {pk},
  order_id {i64} NOT NULL REFERENCES control_orders (id),
  at {i64} NOT NULL,
  temperature_c DOUBLE PRECISION NOT NULL,
  symptoms {text} NOT NULL DEFAULT '[]',
  by_user {i64} NOT NULL DEFAULT 0
);
CREATE INDEX health_checks_order ON health_checks (order_id, at);

CREATE TABLE order_tests (
  id {pk},
  order_id {i64} NOT NULL REFERENCES control_orders (id),
  day {text} NOT NULL,
  result {text} NOT NULL,
  ct DOUBLE PRECISION,
  recorded_at {i64} NOT NULL,
  by_user {i64} NOT NULL DEFAULT 0,
  UNIQUE (order_id, day)
);

CREATE TABLE alerts (
  id {pk},
  order_id {i64} NOT NULL REFERENCES control_orders (id),
  kind {text} NOT NULL,
  severity {text} NOT NULL,
  subject {text} NOT NULL,
  raised_at {i64} NOT NULL,
  status {text} NOT NULL DEFAULT 'open',
  owner_kind {text} NOT NULL,
  owner_org {i64} NOT NULL DEFAULT 0,
  owner_area {text} NOT NULL DEFAULT '',
  escalation_level INTEGER NOT NULL DEFAULT 0,
  UNIQUE (order_id, kind, subject)
);
CREATE INDEX alerts_status ON alerts (status, id);

CREATE TABLE alert_events (
  id {pk},
  alert_id {i64} NOT NULL REFERENCES alerts (id),
  at {i64} NOT NULL,
  user_id {i64} NOT NULL DEFAULT 0,
  username {text} NOT NULL DEFAULT '',
  action {text} NOT NULL,
  note {text} NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

CREATE TABLE quarantine_rooms (
  id {pk},
  org_id {i64} NOT NULL REFERENCES orgs (id),
  number {text} NOT NULL,
  type {text} NOT NULL,
  capacity INTEGER NOT NULL,
  in_service INTEGER NOT NULL DEFAULT 1,
  UNIQUE (org_id, number)
);

CREATE TABLE room_occupants (
  id {pk},
  room_id {i64} NOT NULL REFERENCES quarantine_rooms (id),
  order_id {i64} NOT NULL REFERENCES control_orders (id),
  person_id {i64} NOT NULL REFERENCES persons (id),
  since {i64} NOT NULL,
  until {i64}
);
CREATE INDEX room_occupants_room ON room_occupants (room_id) WHERE until IS NULL;
CREATE INDEX room_occupants_order ON room_occupants (order_id);
CREATE INDEX room_occupants_person ON room_occupants (person_id);

CREATE TABLE arrival_manifests (
  id {pk},
  kind {text} NOT NULL,
  ref {text} NOT NULL,
  arrived_at {i64} NOT NULL,
  port_org {i64} NOT NULL REFERENCES orgs (id),
  created_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0
);

CREATE TABLE manifest_passengers (
  id {pk},
  manifest_id {i64} NOT NULL REFERENCES arrival_manifests (id),
  person_id {i64} NOT NULL REFERENCES persons (id),
  seat {text} NOT NULL DEFAULT '',
  order_id {i64} NOT NULL DEFAULT 0
);
CREATE INDEX manifest_passengers_manifest ON manifest_passengers (manifest_id, seat);
CREATE INDEX manifest_passengers_person ON manifest_passengers (person_id);

CREATE TABLE loop_deadlines (
  order_id {i64} NOT NULL,
  subject {text} NOT NULL,
  kind {text} NOT NULL,
  due {i64} NOT NULL,
  PRIMARY KEY (order_id, subject)
);

INSERT INTO settings (key, value) VALUES ('loop.active_profile', 'ninth-edition') ON CONFLICT (key) DO NOTHING;
)SQL";

// Version 3: handovers between deployments (跨地区交接): signed transfer documents sent and
// received, and the public keys of the deployments whose documents this one accepts.
constexpr const char* kV3 = R"SQL(
CREATE TABLE loop_transfers (
  id {pk},
  direction {text} NOT NULL,
  document_id {text} NOT NULL,
  order_id {i64} NOT NULL REFERENCES control_orders (id),
  handover_id {i64} NOT NULL DEFAULT 0,
  region {text} NOT NULL DEFAULT '',
  peer {text} NOT NULL DEFAULT '',
  document {text} NOT NULL,
  receipt {text} NOT NULL DEFAULT '',
  status {text} NOT NULL,
  created_at {i64} NOT NULL,
  settled_at {i64},
  UNIQUE (direction, document_id)
);
CREATE INDEX loop_transfers_order ON loop_transfers (order_id);
CREATE INDEX loop_transfers_handover ON loop_transfers (handover_id);

CREATE TABLE trusted_senders (
  name {text} PRIMARY KEY,
  public_key {text} NOT NULL UNIQUE,
  added_at {i64} NOT NULL
);
)SQL";

// Version 4: retention (core/retention.hpp). The audit log stays append-only, except that the
// purge may delete entries older than six months (the Cybersecurity Law's minimum for network
// logs), whatever the retention setting says: the floor is in the database itself.
constexpr const char* kV4 = R"SQL(
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX arrival_manifests_arrived ON arrival_manifests (arrived_at);
)SQL";

constexpr const char* kV4Sqlite = R"SQL(
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.at >= (CAST(strftime('%s', 'now') AS INTEGER) - 183 * 86400) * 1000
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (entries younger than 183 days cannot be deleted)'); END;
)SQL";

constexpr const char* kV4Pg = R"SQL(
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.at < (extract(epoch FROM now()) * 1000)::bigint - 183::bigint * 86400000 THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only (entries younger than 183 days cannot be deleted)';
END $$;
)SQL";

// Version 5: background jobs (imports run as jobs), import runs with the previous values of
// every row they changed (for rollback and undo), and identity conflicts found by imports.
constexpr const char* kV5 = R"SQL(
CREATE TABLE jobs (
  id {pk},
  kind {text} NOT NULL,
  status {text} NOT NULL,
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,
  report {text} NOT NULL DEFAULT '',
  error {text} NOT NULL DEFAULT '',
  error_field {text} NOT NULL DEFAULT '',
  created_by {i64} NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  started_at {i64},
  finished_at {i64}
);
CREATE INDEX jobs_created_by ON jobs (created_by, id);
CREATE INDEX jobs_status ON jobs (status, id);

CREATE TABLE import_runs (
  id {pk},
  job_id {i64} NOT NULL DEFAULT 0,
  kind {text} NOT NULL,
  mode {text} NOT NULL,
  file_name {text} NOT NULL DEFAULT '',
  created_by {i64} NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  finished_at {i64},
  status {text} NOT NULL,
  total_rows {i64} NOT NULL DEFAULT 0,
  accepted {i64} NOT NULL DEFAULT 0,
  rejected {i64} NOT NULL DEFAULT 0,
  inserted {i64} NOT NULL DEFAULT 0,
  updated {i64} NOT NULL DEFAULT 0,
  unchanged {i64} NOT NULL DEFAULT 0,
  conflicts {i64} NOT NULL DEFAULT 0,
  undone_at {i64},
  undone_by {i64} NOT NULL DEFAULT 0
);
CREATE INDEX import_runs_created_by ON import_runs (created_by, id);
CREATE INDEX import_runs_status ON import_runs (status, id);

CREATE TABLE import_run_rows (
  run_id {i64} NOT NULL REFERENCES import_runs (id),
  entity {text} NOT NULL,
  row_id {i64} NOT NULL,
  action {text} NOT NULL,
  previous {text} NOT NULL DEFAULT '',
  rev_after {i64} NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, entity, row_id)
);
CREATE INDEX import_run_rows_row ON import_run_rows (entity, row_id);

CREATE TABLE identity_conflicts (
  id {pk},
  run_id {i64} NOT NULL REFERENCES import_runs (id),
  person_id {i64} NOT NULL REFERENCES persons (id),
  row_no {i64} NOT NULL,
  fields {text} NOT NULL,
  imported {text} NOT NULL,
  status {text} NOT NULL,
  created_at {i64} NOT NULL,
  resolved_by {i64} NOT NULL DEFAULT 0,
  resolved_at {i64}
);
CREATE INDEX identity_conflicts_status ON identity_conflicts (status, id);
CREATE INDEX identity_conflicts_person ON identity_conflicts (person_id);
CREATE INDEX identity_conflicts_run ON identity_conflicts (run_id);
)SQL";

// Version 6: a revision on every person row, so that an edit made from a stale read is refused
// (PUT /api/persons/{id} answers 409). New rows start at 1; every update raises it by one (the
// registry's own update sets it; the triggers raise it for every other update: imports, merges).
constexpr const char* kV6 = R"SQL(
ALTER TABLE persons ADD COLUMN revision {i64} NOT NULL DEFAULT 1;
)SQL";
constexpr const char* kV6Sqlite = R"SQL(
CREATE TRIGGER persons_revision AFTER UPDATE ON persons FOR EACH ROW WHEN NEW.revision = OLD.revision
BEGIN
  UPDATE persons SET revision = OLD.revision + 1 WHERE id = NEW.id;
END;
)SQL";
constexpr const char* kV6Pg = R"SQL(
CREATE FUNCTION persons_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.revision = OLD.revision THEN
    NEW.revision := OLD.revision + 1;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER persons_revision BEFORE UPDATE ON persons FOR EACH ROW EXECUTE FUNCTION persons_revision();
)SQL";

// Version 7: referrals (协查): an investigator's order for a person outside its area, addressed to
// the command centre holding the person's area.
constexpr const char* kV7 = R"SQL(
CREATE TABLE referrals (
  id {pk},
  person_id {i64} NOT NULL DEFAULT 0,
  to_area {text} NOT NULL DEFAULT '',
  from_area {text} NOT NULL DEFAULT '',
  requested_by {i64} NOT NULL,
  requested_by_name {text} NOT NULL DEFAULT '',
  requested_at {i64} NOT NULL,
  group_key {text} NOT NULL,
  source {text} NOT NULL,
  start_date {text} NOT NULL,
  stage {text} NOT NULL DEFAULT '',
  note {text} NOT NULL DEFAULT '',
  status {text} NOT NULL DEFAULT 'pending',
  decided_by {i64} NOT NULL DEFAULT 0,
  decided_at {i64},
  order_id {i64} NOT NULL DEFAULT 0,
  decision_note {text} NOT NULL DEFAULT ''
);
CREATE INDEX referrals_to_area ON referrals (to_area, status);
CREATE INDEX referrals_requested_by ON referrals (requested_by);
)SQL";

// Version 8: jobs survive a restart and a killed importer is noticed. The input of a job (an
// import's parameters and file) is kept until the job finishes, so that queued and interrupted
// jobs run again when the server starts; an import run records the process writing it and a
// heartbeat, so that a run whose process died (kill -9 of `bihuan import`) is rolled back.
constexpr const char* kV8 = R"SQL(
CREATE TABLE job_inputs (
  job_id {i64} PRIMARY KEY,
  params {text} NOT NULL DEFAULT '',
  data {text} NOT NULL DEFAULT '',
  data_base64 {i64} NOT NULL DEFAULT 0
);
ALTER TABLE import_runs ADD COLUMN owner_host {text} NOT NULL DEFAULT '';
ALTER TABLE import_runs ADD COLUMN owner_pid {i64} NOT NULL DEFAULT 0;
ALTER TABLE import_runs ADD COLUMN heartbeat_at {i64} NOT NULL DEFAULT 0;
)SQL";

// Version 9: nucleic-acid testing (核酸检测, docs/API-testing.md): sampling points, mass-testing
// rounds and their exclusions, pooled tubes and their members, boxes with chain of custody, lab
// results (versioned), conflicting results to review, test tasks (pool re-tests, antigen
// follow-ups), testing alerts and the minimal case record a positive single tube opens.
// Round tasks are not stored row by row: every resident of a round's area has the round's task,
// and sampling records it (tube_members.round_id).
constexpr const char* kV9 = R"SQL(
CREATE TABLE sampling_points (
  id {pk},
  name {text} NOT NULL,
  area_code {text} NOT NULL,
  address {text} NOT NULL DEFAULT '',
  opens {text} NOT NULL DEFAULT '08:00',
  closes {text} NOT NULL DEFAULT '20:00',
  capacity_per_hour INTEGER NOT NULL DEFAULT 300,
  lab_org_id {i64} NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  created_at {i64} NOT NULL
);
CREATE INDEX sampling_points_area ON sampling_points (area_code);

CREATE TABLE test_rounds (
  id {pk},
  campaign {text} NOT NULL,
  area_code {text} NOT NULL,
  day {text} NOT NULL,
  profile {text} NOT NULL,
  rule {text} NOT NULL DEFAULT '',
  pool_ratio INTEGER NOT NULL DEFAULT 10,
  status {text} NOT NULL DEFAULT 'open',
  created_by {i64} NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  closed_at {i64}
);
CREATE INDEX test_rounds_area ON test_rounds (area_code, day);

CREATE TABLE round_exclusions (
  round_id {i64} NOT NULL REFERENCES test_rounds (id),
  person_id {i64} NOT NULL REFERENCES persons (id),
  reason {text} NOT NULL,
  note {text} NOT NULL DEFAULT '',
  by_user {i64} NOT NULL DEFAULT 0,
  at {i64} NOT NULL,
  PRIMARY KEY (round_id, person_id)
);

CREATE TABLE sample_boxes (
  id {pk},
  code {text} NOT NULL UNIQUE,
  point_id {i64} NOT NULL,
  area_code {text} NOT NULL,
  lab_org_id {i64} NOT NULL DEFAULT 0,
  status {text} NOT NULL DEFAULT 'open',
  tubes INTEGER NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0,
  sealed_at {i64},
  sealed_by {i64} NOT NULL DEFAULT 0,
  picked_at {i64},
  picked_by {i64} NOT NULL DEFAULT 0,
  carrier {text} NOT NULL DEFAULT '',
  received_at {i64},
  received_by {i64} NOT NULL DEFAULT 0,
  due_at {i64}
);
CREATE INDEX sample_boxes_lab ON sample_boxes (lab_org_id, status);
CREATE INDEX sample_boxes_status ON sample_boxes (status, due_at);

CREATE TABLE tubes (
  id {pk},
  barcode {text} NOT NULL UNIQUE,
  ratio INTEGER NOT NULL,
  round_id {i64} NOT NULL DEFAULT 0,
  point_id {i64} NOT NULL DEFAULT 0,
  area_code {text} NOT NULL DEFAULT '',
  priority {text} NOT NULL DEFAULT 'routine',
  status {text} NOT NULL DEFAULT 'open',
  members INTEGER NOT NULL DEFAULT 0,
  opened_at {i64} NOT NULL,
  opened_by {i64} NOT NULL DEFAULT 0,
  closed_at {i64},
  box_id {i64} NOT NULL DEFAULT 0,
  lab_org_id {i64} NOT NULL DEFAULT 0,
  result {text} NOT NULL DEFAULT '',
  result_at {i64},
  retest_task {i64} NOT NULL DEFAULT 0
);
CREATE INDEX tubes_box ON tubes (box_id);
CREATE INDEX tubes_round ON tubes (round_id, status);
CREATE INDEX tubes_status ON tubes (status, closed_at);

CREATE TABLE tube_members (
  tube_id {i64} NOT NULL,
  person_id {i64} NOT NULL,
  round_id {i64} NOT NULL DEFAULT 0,
  task_id {i64} NOT NULL DEFAULT 0,
  sampled_at {i64} NOT NULL,
  sampled_by {i64} NOT NULL DEFAULT 0,
  open INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (tube_id, person_id)
);
CREATE INDEX tube_members_person ON tube_members (person_id, sampled_at);
CREATE UNIQUE INDEX tube_members_open_round ON tube_members (round_id, person_id) WHERE open = 1 AND round_id <> 0;
CREATE INDEX tube_members_round ON tube_members (round_id, person_id);

CREATE TABLE lab_results (
  id {pk},
  lab_org_id {i64} NOT NULL,
  tube_id {i64} NOT NULL DEFAULT 0,
  person_id {i64} NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  current INTEGER NOT NULL DEFAULT 1,
  reported {text} NOT NULL,
  outcome {text} NOT NULL,
  orf1ab_ct DOUBLE PRECISION,
  n_ct DOUBLE PRECISION,
  sampled_at {i64},
  tested_at {i64},
  received_at {i64} NOT NULL,
  external_id {text} NOT NULL DEFAULT '',
  channel {text} NOT NULL DEFAULT 'api',
  reason {text} NOT NULL DEFAULT '',
  by_user {i64} NOT NULL DEFAULT 0
);
CREATE INDEX lab_results_tube ON lab_results (tube_id, current);
CREATE INDEX lab_results_person ON lab_results (person_id, received_at);

CREATE TABLE result_conflicts (
  id {pk},
  result_id {i64} NOT NULL,
  lab_org_id {i64} NOT NULL,
  tube_id {i64} NOT NULL DEFAULT 0,
  person_id {i64} NOT NULL DEFAULT 0,
  reported {text} NOT NULL,
  orf1ab_ct DOUBLE PRECISION,
  n_ct DOUBLE PRECISION,
  tested_at {i64},
  received_at {i64} NOT NULL,
  area_code {text} NOT NULL DEFAULT '',
  status {text} NOT NULL DEFAULT 'open',
  decided_by {i64} NOT NULL DEFAULT 0,
  decided_at {i64},
  note {text} NOT NULL DEFAULT ''
);
CREATE INDEX result_conflicts_status ON result_conflicts (status, id);

CREATE TABLE test_tasks (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  kind {text} NOT NULL,
  area_code {text} NOT NULL,
  source_tube {i64} NOT NULL DEFAULT 0,
  round_id {i64} NOT NULL DEFAULT 0,
  ratio INTEGER NOT NULL DEFAULT 1,
  priority {text} NOT NULL DEFAULT 'key',
  door_to_door INTEGER NOT NULL DEFAULT 0,
  flag_colour {text} NOT NULL DEFAULT '',
  due_at {i64} NOT NULL,
  status {text} NOT NULL DEFAULT 'open',
  tube_id {i64} NOT NULL DEFAULT 0,
  outcome {text} NOT NULL DEFAULT '',
  created_at {i64} NOT NULL,
  closed_at {i64}
);
CREATE INDEX test_tasks_person ON test_tasks (person_id, status);
CREATE INDEX test_tasks_status ON test_tasks (status, due_at);
CREATE INDEX test_tasks_area ON test_tasks (area_code, status);

CREATE TABLE antigen_tests (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  result {text} NOT NULL,
  taken_at {i64} NOT NULL,
  recorded_at {i64} NOT NULL,
  by_user {i64} NOT NULL DEFAULT 0,
  task_id {i64} NOT NULL DEFAULT 0
);
CREATE INDEX antigen_tests_person ON antigen_tests (person_id, taken_at);

CREATE TABLE test_alerts (
  id {pk},
  kind {text} NOT NULL,
  severity {text} NOT NULL,
  subject {text} NOT NULL,
  person_id {i64} NOT NULL DEFAULT 0,
  tube_id {i64} NOT NULL DEFAULT 0,
  box_id {i64} NOT NULL DEFAULT 0,
  area_code {text} NOT NULL DEFAULT '',
  lab_org_id {i64} NOT NULL DEFAULT 0,
  detail {text} NOT NULL DEFAULT '',
  raised_at {i64} NOT NULL,
  status {text} NOT NULL DEFAULT 'open',
  settled_at {i64},
  UNIQUE (kind, subject)
);
CREATE INDEX test_alerts_status ON test_alerts (status, id);

CREATE TABLE cases (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  area_code {text} NOT NULL DEFAULT '',
  source {text} NOT NULL,
  result_id {i64} NOT NULL DEFAULT 0,
  tube_id {i64} NOT NULL DEFAULT 0,
  classification {text} NOT NULL DEFAULT '',
  status {text} NOT NULL DEFAULT 'open',
  opened_at {i64} NOT NULL,
  opened_by {i64} NOT NULL DEFAULT 0,
  note {text} NOT NULL DEFAULT ''
);
CREATE INDEX cases_person ON cases (person_id);
CREATE INDEX cases_area ON cases (area_code, opened_at);
)SQL";

// v10: key groups (重点人群). An organisation designated as a key group has its staff (persons
// working there) tested routinely at the active profile's frequency for the group: one task per
// person and task day, made by the testing sweep, closed by a result from any channel, missed
// (an alert, and the profile's colour) when its day and grace have passed.
constexpr const char* kV10 = R"SQL(
CREATE TABLE key_group_orgs (
  org_id {i64} PRIMARY KEY REFERENCES orgs (id),
  group_key {text} NOT NULL,
  since {text} NOT NULL,
  set_by {i64} NOT NULL DEFAULT 0,
  set_at {i64} NOT NULL
);
ALTER TABLE test_tasks ADD COLUMN task_day {text} NOT NULL DEFAULT '';
ALTER TABLE test_tasks ADD COLUMN org_id {i64} NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX test_tasks_routine ON test_tasks (person_id, task_day) WHERE kind = 'routine';
CREATE INDEX test_tasks_org ON test_tasks (org_id, task_day) WHERE kind = 'routine';
)SQL";

// v11: cutting transmission chains (issue 8). Venues get a dwell time and can be closed until
// disinfected; the venue-scan log (场所码扫码记录, append-only, kept per local day, purged after its
// retention window, indexed by venue and time for tracing and by person for a case's places);
// cases carry the national report card's fields, the exposure window and the timeliness marks;
// an investigation's contacts with their evidence; infector -> infectee links; places added by
// the investigator; disinfection tasks (场所消杀); the case a referral (协查, v7) comes from.
constexpr const char* kV11 = R"SQL(
ALTER TABLE venues ADD COLUMN dwell_minutes {i64} NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN closed_at {i64};
ALTER TABLE venues ADD COLUMN closed_reason {text} NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN org_id {i64} NOT NULL DEFAULT 0;

CREATE TABLE venue_scans (
  id {pk},
  venue_id {i64} NOT NULL,
  person_id {i64} NOT NULL,
  entered_at {i64} NOT NULL,
  exited_at {i64},
  scan_day {text} NOT NULL,
  colour {text} NOT NULL,
  pass INTEGER NOT NULL,
  via {text} NOT NULL DEFAULT 'code',
  by_user {i64} NOT NULL DEFAULT 0
);
CREATE INDEX venue_scans_venue ON venue_scans (venue_id, entered_at);
CREATE INDEX venue_scans_person ON venue_scans (person_id, entered_at);
CREATE INDEX venue_scans_day ON venue_scans (scan_day);

ALTER TABLE cases ADD COLUMN severity {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN origin {text} NOT NULL DEFAULT 'local';
ALTER TABLE cases ADD COLUMN vaccination {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN found_by {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN occupation {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN work_unit {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN current_address {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN onset_date {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN diagnosed_at {i64};
ALTER TABLE cases ADD COLUMN death_date {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN first_positive_at {i64};
ALTER TABLE cases ADD COLUMN isolated_at {i64};
ALTER TABLE cases ADD COLUMN window_start {i64};
ALTER TABLE cases ADD COLUMN window_end {i64};
ALTER TABLE cases ADD COLUMN reported_at {i64};
ALTER TABLE cases ADD COLUMN investigation_at {i64};
ALTER TABLE cases ADD COLUMN contacts_listed_at {i64};
ALTER TABLE cases ADD COLUMN contacts_controlled_at {i64};
ALTER TABLE cases ADD COLUMN rev {i64} NOT NULL DEFAULT 1;
CREATE INDEX cases_status ON cases (status, id);

CREATE TABLE case_places (
  id {pk},
  case_id {i64} NOT NULL REFERENCES cases (id),
  venue_id {i64} NOT NULL DEFAULT 0,
  description {text} NOT NULL DEFAULT '',
  area_code {text} NOT NULL DEFAULT '',
  from_at {i64} NOT NULL,
  to_at {i64} NOT NULL,
  added_by {i64} NOT NULL DEFAULT 0,
  added_at {i64} NOT NULL
);
CREATE INDEX case_places_case ON case_places (case_id);

CREATE TABLE case_contacts (
  id {pk},
  case_id {i64} NOT NULL REFERENCES cases (id),
  person_id {i64} NOT NULL REFERENCES persons (id),
  degree INTEGER NOT NULL DEFAULT 1,
  via_person_id {i64} NOT NULL DEFAULT 0,
  kinds {text} NOT NULL DEFAULT '',
  evidence {text} NOT NULL DEFAULT '[]',
  first_exposure_at {i64},
  last_exposure_at {i64},
  status {text} NOT NULL DEFAULT 'candidate',
  reason {text} NOT NULL DEFAULT '',
  decided_by {i64} NOT NULL DEFAULT 0,
  decided_at {i64},
  order_id {i64} NOT NULL DEFAULT 0,
  referral_id {i64} NOT NULL DEFAULT 0,
  found_at {i64} NOT NULL,
  UNIQUE (case_id, person_id)
);
CREATE INDEX case_contacts_person ON case_contacts (person_id);

CREATE TABLE case_links (
  id {pk},
  infector_case_id {i64} NOT NULL REFERENCES cases (id),
  infectee_case_id {i64} NOT NULL REFERENCES cases (id),
  confidence {text} NOT NULL DEFAULT 'probable',
  evidence {text} NOT NULL DEFAULT '',
  created_by {i64} NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  UNIQUE (infector_case_id, infectee_case_id)
);
CREATE INDEX case_links_infectee ON case_links (infectee_case_id);

CREATE TABLE disinfection_tasks (
  id {pk},
  venue_id {i64} NOT NULL REFERENCES venues (id),
  case_id {i64} NOT NULL REFERENCES cases (id),
  area_code {text} NOT NULL DEFAULT '',
  visited_from {i64} NOT NULL,
  visited_to {i64} NOT NULL,
  due_at {i64} NOT NULL,
  close_venue INTEGER NOT NULL DEFAULT 0,
  status {text} NOT NULL DEFAULT 'open',
  created_at {i64} NOT NULL,
  done_at {i64},
  done_by {i64} NOT NULL DEFAULT 0,
  note {text} NOT NULL DEFAULT '',
  UNIQUE (venue_id, case_id)
);
CREATE INDEX disinfection_tasks_status ON disinfection_tasks (status, due_at);

ALTER TABLE referrals ADD COLUMN case_id {i64} NOT NULL DEFAULT 0;
CREATE INDEX referrals_case ON referrals (case_id);
)SQL";

// v12: the unique key of persons (doc_type, doc_number, nationality) becomes a named unique
// index, persons_doc, instead of the table's inline UNIQUE constraint. Every ON CONFLICT
// (doc_type, doc_number, nationality) works as before (a unique index is an arbiter in both
// backends), and a bulk load into an empty persons table can now drop the index with the other
// secondary ones and build it once at the end (Repository::begin_bulk_load): inserting 25 M
// rows in random key order into a B-tree is what bound the generator. SQLite cannot drop an
// inline constraint, so the table is rebuilt (foreign keys off for the migration, checked before
// it commits); PostgreSQL drops the constraint.
constexpr const char* kV12 = "";
constexpr const char* kV12Sqlite = R"SQL(
CREATE TABLE persons_v12 (
  id INTEGER PRIMARY KEY,
  doc_type TEXT NOT NULL,
  doc_number TEXT NOT NULL,
  nationality TEXT NOT NULL,
  name TEXT NOT NULL,
  sex TEXT NOT NULL,
  birth_date TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL DEFAULT '',
  household_id INTEGER REFERENCES households (id),
  area_code TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  workplace_org_id INTEGER REFERENCES orgs (id),
  merged_into INTEGER REFERENCES persons (id),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  rev INTEGER NOT NULL DEFAULT 1,
  revision INTEGER NOT NULL DEFAULT 1
);
INSERT INTO persons_v12 (id, doc_type, doc_number, nationality, name, sex, birth_date, phone, household_id, area_code,
                         address, workplace_org_id, merged_into, created_at, updated_at, rev, revision)
  SELECT id, doc_type, doc_number, nationality, name, sex, birth_date, phone, household_id, area_code, address,
         workplace_org_id, merged_into, created_at, updated_at, rev, revision FROM persons ORDER BY id;
DROP TABLE persons;
ALTER TABLE persons_v12 RENAME TO persons;
CREATE UNIQUE INDEX persons_doc ON persons (doc_type, doc_number, nationality);
CREATE INDEX persons_name ON persons (name, birth_date);
CREATE INDEX persons_phone ON persons (phone);
CREATE INDEX persons_area ON persons (area_code, merged_into);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_birth ON persons (birth_date);
CREATE INDEX persons_doc_number ON persons (doc_number);
CREATE INDEX persons_org ON persons (workplace_org_id) WHERE workplace_org_id IS NOT NULL;
CREATE INDEX persons_merged ON persons (merged_into) WHERE merged_into IS NOT NULL;
CREATE TRIGGER persons_revision AFTER UPDATE ON persons FOR EACH ROW WHEN NEW.revision = OLD.revision
BEGIN
  UPDATE persons SET revision = OLD.revision + 1 WHERE id = NEW.id;
END;
)SQL";
constexpr const char* kV12Pg = R"SQL(
CREATE UNIQUE INDEX persons_doc ON persons (doc_type, doc_number, nationality);
ALTER TABLE persons DROP CONSTRAINT persons_doc_type_doc_number_nationality_key;
)SQL";

// v13: risk areas (高/中/低风险区, src/risk). An area covers one registry unit (unit_kind grid,
// building, unit, floor, household; unit_ref as core/risk.hpp spells it) inside the grid
// area_code (the caller's scope); status published | lifted (at most one published area per
// unit); level_since is the local date its current level started, last_infection the last
// counted infection in it. Every change is a version (who, when, why, from which proposal).
// Proposals come from the profile's rules and wait for the command centre (pending | approved |
// rejected | superseded; at most one pending per unit). risk_area_orders are the control orders an
// area created for its residents (released when the area is downgraded or lifted).
constexpr const char* kV13 = R"SQL(
CREATE TABLE risk_areas (
  id {pk},
  unit_kind {text} NOT NULL,
  unit_ref {text} NOT NULL,
  unit_name {text} NOT NULL DEFAULT '',
  area_code {text} NOT NULL,
  level {text} NOT NULL,
  designated {text} NOT NULL,
  status {text} NOT NULL DEFAULT 'published',
  level_since {text} NOT NULL,
  last_infection {text} NOT NULL DEFAULT '',
  reason {text} NOT NULL DEFAULT '',
  case_ids {text} NOT NULL DEFAULT '',
  profile {text} NOT NULL,
  created_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0,
  updated_at {i64} NOT NULL,
  lifted_at {i64}
);
CREATE UNIQUE INDEX risk_areas_published ON risk_areas (unit_kind, unit_ref) WHERE status = 'published';
CREATE INDEX risk_areas_area ON risk_areas (area_code, status);

CREATE TABLE risk_area_versions (
  id {pk},
  area_id {i64} NOT NULL REFERENCES risk_areas (id),
  level {text} NOT NULL,
  status {text} NOT NULL,
  level_since {text} NOT NULL,
  reason {text} NOT NULL DEFAULT '',
  note {text} NOT NULL DEFAULT '',
  proposal_id {i64} NOT NULL DEFAULT 0,
  changed_by {i64} NOT NULL DEFAULT 0,
  changed_by_name {text} NOT NULL DEFAULT '',
  changed_at {i64} NOT NULL
);
CREATE INDEX risk_area_versions_area ON risk_area_versions (area_id, id);

CREATE TABLE risk_proposals (
  id {pk},
  kind {text} NOT NULL,
  area_id {i64} NOT NULL DEFAULT 0,
  unit_kind {text} NOT NULL,
  unit_ref {text} NOT NULL,
  unit_name {text} NOT NULL DEFAULT '',
  area_code {text} NOT NULL,
  from_level {text} NOT NULL DEFAULT '',
  level {text} NOT NULL,
  reason {text} NOT NULL DEFAULT '',
  source {text} NOT NULL DEFAULT '',
  case_ids {text} NOT NULL DEFAULT '',
  last_infection {text} NOT NULL DEFAULT '',
  profile {text} NOT NULL,
  status {text} NOT NULL DEFAULT 'pending',
  proposed_at {i64} NOT NULL,
  proposed_by {i64} NOT NULL DEFAULT 0,
  decided_by {i64} NOT NULL DEFAULT 0,
  decided_at {i64},
  decision_note {text} NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX risk_proposals_pending ON risk_proposals (unit_kind, unit_ref) WHERE status = 'pending';
CREATE INDEX risk_proposals_status ON risk_proposals (status, area_code);

CREATE TABLE risk_area_orders (
  area_id {i64} NOT NULL REFERENCES risk_areas (id),
  order_id {i64} NOT NULL,
  level {text} NOT NULL,
  released INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (area_id, order_id)
);
)SQL";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";

int read_version(Db& db) {
  Q q(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return q.next() ? static_cast<int>(q.int64(0)) : 0;
}

// Whether migration `version` is recorded. Checked one by one (not against the highest), so
// that a migration numbered below one already applied (two branches landing in either order)
// is still applied.
bool applied(Db& db, int version) {
  Q q(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
  q.i64(version);
  return q.next();
}

// v14: emergency response (issue 10). Response levels declared over an area (with who, why and
// when they ended); events started by a playbook (by a trigger the watcher found, or by hand),
// each trigger recorded once so a playbook never starts twice for the same case, chain or round;
// the event's tasks with their clocks, checklists, completion and escalation; the incident log.
constexpr const char* kV14 = R"SQL(
CREATE TABLE response_levels (
  id {pk},
  area_code {text} NOT NULL,
  level {text} NOT NULL,
  reason {text} NOT NULL,
  declared_by {i64} NOT NULL DEFAULT 0,
  declared_at {i64} NOT NULL,
  ended_at {i64},
  ended_by {i64} NOT NULL DEFAULT 0,
  end_reason {text} NOT NULL DEFAULT ''
);
CREATE INDEX response_levels_area ON response_levels (area_code, declared_at);

CREATE TABLE response_events (
  id {pk},
  area_code {text} NOT NULL,
  playbook {text} NOT NULL,
  title {text} NOT NULL,
  trigger_kind {text} NOT NULL,
  status {text} NOT NULL DEFAULT 'open',
  started_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0,
  closed_at {i64},
  closed_by {i64} NOT NULL DEFAULT 0,
  close_note {text} NOT NULL DEFAULT ''
);
CREATE INDEX response_events_area ON response_events (area_code, started_at);

CREATE TABLE response_triggers (
  playbook {text} NOT NULL,
  trigger_key {text} NOT NULL,
  event_id {i64} NOT NULL REFERENCES response_events (id),
  at {i64} NOT NULL,
  PRIMARY KEY (playbook, trigger_key)
);
CREATE INDEX response_triggers_event ON response_triggers (event_id);

CREATE TABLE response_tasks (
  id {pk},
  event_id {i64} NOT NULL REFERENCES response_events (id),
  task_key {text} NOT NULL,
  title {text} NOT NULL,
  owner_role {text} NOT NULL,
  area_code {text} NOT NULL,
  due_at {i64} NOT NULL,
  after_keys {text} NOT NULL DEFAULT '',
  checklist {text} NOT NULL DEFAULT '[]',
  source {text} NOT NULL DEFAULT '',
  status {text} NOT NULL DEFAULT 'open',
  done_at {i64},
  done_by {i64} NOT NULL DEFAULT 0,
  note {text} NOT NULL DEFAULT '',
  escalation_level INTEGER NOT NULL DEFAULT 0,
  escalated_at {i64},
  UNIQUE (event_id, task_key)
);
CREATE INDEX response_tasks_open ON response_tasks (status, due_at);
CREATE INDEX response_tasks_area ON response_tasks (area_code, owner_role);

CREATE TABLE response_log (
  id {pk},
  event_id {i64} NOT NULL REFERENCES response_events (id),
  at {i64} NOT NULL,
  user_id {i64} NOT NULL DEFAULT 0,
  kind {text} NOT NULL,
  text {text} NOT NULL
);
CREATE INDEX response_log_event ON response_log (event_id, at);
CREATE INDEX cases_opened ON cases (opened_at);
)SQL";

// v18: work resumption (复工复产, issue 11): enterprises with their sites, staff rosters and the
// versions of their prevention plans (each submission and decision one row).
constexpr const char* kV18 = R"SQL(
CREATE TABLE enterprises (
  org_id {i64} PRIMARY KEY REFERENCES orgs (id),
  industry {text} NOT NULL DEFAULT '',
  white_list INTEGER NOT NULL DEFAULT 0,
  status {text} NOT NULL DEFAULT 'registered',
  reopened INTEGER NOT NULL DEFAULT 0,
  plan_version INTEGER NOT NULL DEFAULT 0,
  registered_by {i64} NOT NULL DEFAULT 0,
  registered_at {i64} NOT NULL,
  updated_at {i64} NOT NULL
);

CREATE TABLE enterprise_sites (
  org_id {i64} NOT NULL REFERENCES orgs (id),
  name {text} NOT NULL,
  address {text} NOT NULL DEFAULT '',
  area_code {text} NOT NULL,
  PRIMARY KEY (org_id, name)
);

CREATE TABLE enterprise_staff (
  org_id {i64} NOT NULL REFERENCES orgs (id),
  person_id {i64} NOT NULL REFERENCES persons (id),
  site {text} NOT NULL,
  post {text} NOT NULL,
  shift {text} NOT NULL DEFAULT '',
  PRIMARY KEY (org_id, person_id)
);
CREATE INDEX enterprise_staff_person ON enterprise_staff (person_id);

CREATE TABLE enterprise_plan_versions (
  id {pk},
  org_id {i64} NOT NULL REFERENCES orgs (id),
  version INTEGER NOT NULL,
  status {text} NOT NULL,
  plan {text} NOT NULL,
  responsible_head {text} NOT NULL DEFAULT '',
  epidemic_ok INTEGER NOT NULL DEFAULT 0,
  safety_ok INTEGER NOT NULL DEFAULT 0,
  reopen INTEGER NOT NULL DEFAULT 0,
  reasons {text} NOT NULL DEFAULT '',
  by_user {i64} NOT NULL DEFAULT 0,
  by_name {text} NOT NULL DEFAULT '',
  acted_at {i64} NOT NULL
);
CREATE INDEX enterprise_plan_versions_org ON enterprise_plan_versions (org_id, id);
)SQL";

// v17: early warning, vaccination and capacity (issue 10). The daily counts of the warning feeds
// (fever clinics, pharmacies, schools) per reporting site, day and (schools) reason; the baseline
// and threshold rule per feed and area; the signals raised (one open per feed and area); the
// doses of the immunisation register and each person's status derived from them.
constexpr const char* kV17 = R"SQL(
CREATE TABLE feed_counts (
  feed {text} NOT NULL,
  site {text} NOT NULL,
  site_name {text} NOT NULL DEFAULT '',
  area_code {text} NOT NULL,
  day {text} NOT NULL,
  reason {text} NOT NULL DEFAULT '',
  n {i64} NOT NULL,
  job_id {i64} NOT NULL DEFAULT 0,
  reported_by {i64} NOT NULL DEFAULT 0,
  reported_at {i64} NOT NULL,
  PRIMARY KEY (feed, site, day, reason)
);
CREATE INDEX feed_counts_area ON feed_counts (feed, area_code, day);

CREATE TABLE warning_rules (
  feed {text} NOT NULL,
  area_code {text} NOT NULL,
  method {text} NOT NULL,
  weeks INTEGER NOT NULL,
  k DOUBLE PRECISION NOT NULL,
  min_count {i64} NOT NULL,
  updated_by {i64} NOT NULL DEFAULT 0,
  updated_at {i64} NOT NULL,
  PRIMARY KEY (feed, area_code)
);

CREATE TABLE warning_signals (
  id {pk},
  feed {text} NOT NULL,
  area_code {text} NOT NULL,
  since {text} NOT NULL,
  last_day {text} NOT NULL,
  observed {i64} NOT NULL,
  peak {i64} NOT NULL,
  expected DOUBLE PRECISION NOT NULL,
  threshold DOUBLE PRECISION NOT NULL,
  status {text} NOT NULL DEFAULT 'open',
  event_id {i64} NOT NULL DEFAULT 0,
  opened_at {i64} NOT NULL,
  updated_at {i64} NOT NULL,
  closed_at {i64}
);
CREATE UNIQUE INDEX warning_signals_open ON warning_signals (feed, area_code) WHERE status = 'open';
CREATE INDEX warning_signals_area ON warning_signals (area_code, id);

CREATE TABLE vaccination_doses (
  person_id {i64} NOT NULL REFERENCES persons (id),
  dose INTEGER NOT NULL,
  day {text} NOT NULL,
  product {text} NOT NULL,
  site {text} NOT NULL DEFAULT '',
  job_id {i64} NOT NULL DEFAULT 0,
  imported_at {i64} NOT NULL,
  PRIMARY KEY (person_id, dose)
);

CREATE TABLE vaccination_status (
  person_id {i64} PRIMARY KEY REFERENCES persons (id),
  doses INTEGER NOT NULL,
  first_day {text} NOT NULL DEFAULT '',
  full_day {text} NOT NULL DEFAULT '',
  booster_day {text} NOT NULL DEFAULT '',
  last_day {text} NOT NULL DEFAULT '',
  updated_at {i64} NOT NULL
);
CREATE INDEX room_occupants_since ON room_occupants (since);
CREATE INDEX order_stages_stage ON order_stages (stage, since);
)SQL";

// v16: residents and notifications (issue 10). The notification outbox (one row per SMS or app
// push, with its delivery state and retries; dedupe_key makes an event's message unique) and
// the cursors of the scan that writes messages for new orders, results and alerts; residents'
// one-time sign-in codes (salted hashes only), their sessions (apart from staff sessions) and
// their appeals against a wrong health-code colour (赋码纠错) with the deadline of the answer.
constexpr const char* kV16 = R"SQL(
CREATE TABLE notify_messages (
  id {pk},
  channel {text} NOT NULL,
  recipient {text} NOT NULL,
  kind {text} NOT NULL,
  person_id {i64} NOT NULL DEFAULT 0,
  area_code {text} NOT NULL DEFAULT '',
  body {text} NOT NULL,
  dedupe_key {text} UNIQUE,
  status {text} NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at {i64} NOT NULL,
  last_error {text} NOT NULL DEFAULT '',
  provider_id {text} NOT NULL DEFAULT '',
  created_at {i64} NOT NULL,
  sent_at {i64},
  expires_at {i64}
);
CREATE INDEX notify_messages_due ON notify_messages (status, next_attempt_at);

CREATE TABLE notify_cursors (
  name {text} PRIMARY KEY,
  last_id {i64} NOT NULL
);

CREATE TABLE resident_otps (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  salt {text} NOT NULL,
  code_hash {text} NOT NULL,
  created_at {i64} NOT NULL,
  expires_at {i64} NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  used_at {i64}
);
CREATE INDEX resident_otps_person ON resident_otps (person_id, created_at);

CREATE TABLE resident_sessions (
  token_hash {text} PRIMARY KEY,
  person_id {i64} NOT NULL REFERENCES persons (id),
  created_at {i64} NOT NULL,
  expires_at {i64} NOT NULL,
  ip {text} NOT NULL DEFAULT ''
);

CREATE TABLE resident_appeals (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  area_code {text} NOT NULL,
  colour {text} NOT NULL,
  reason {text} NOT NULL,
  status {text} NOT NULL DEFAULT 'open',
  created_at {i64} NOT NULL,
  due_at {i64} NOT NULL,
  answer {text} NOT NULL DEFAULT '',
  answered_by {i64} NOT NULL DEFAULT 0,
  answered_at {i64},
  escalation_level INTEGER NOT NULL DEFAULT 0,
  escalated_at {i64}
);
CREATE INDEX resident_appeals_area ON resident_appeals (area_code, id);
CREATE INDEX resident_appeals_open ON resident_appeals (status, due_at);
CREATE INDEX resident_appeals_person ON resident_appeals (person_id, id);
)SQL";

std::int64_t applied_count(Db& db) {
  Q q(db, "SELECT COUNT(*) FROM schema_migrations");
  return q.next() ? q.int64(0) : 0;
}

void apply_pending(Db& db) {
  const bool sqlite = db.backend() == Backend::sqlite;
  for (const auto& m : migrations()) {
    // PRAGMA foreign_keys is a no-op inside a transaction: switched before BEGIN.
    const bool fk_off = sqlite && m.sqlite_foreign_keys_off && !applied(db, m.version);
    if (fk_off) db.exec_script("PRAGMA foreign_keys=OFF");
    db.begin();
    try {
      if (!applied(db, m.version)) {
        if (*m.sql) db.exec_script(db.dialect().schema(m.sql));
        const char* extra = sqlite ? m.sqlite_sql : m.pg_sql;
        if (extra && *extra) db.exec_script(extra);
        if (fk_off) {
          Q q(db, "PRAGMA foreign_key_check");
          if (q.next())
            fail(ErrorCode::internal, "migration " + std::to_string(m.version) + " left a broken reference in table " +
                                          q.str(0));
        }
        Q(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").i64(m.version).i64(now_ms()).run();
      }
      db.commit();
    } catch (...) {
      db.rollback();
      if (fk_off) db.exec_script("PRAGMA foreign_keys=ON");
      throw;
    }
    if (fk_off) db.exec_script("PRAGMA foreign_keys=ON");
  }
}

// v15: the daily bulletin (每日疫情通报) and the public portal (issue 10). Cases gain what the
// bulletin counts: where an imported case came from, when an asymptomatic infection was confirmed,
// when and how a case was closed (recovered, died, excluded). A bulletin is one revision of one
// day's figures for an area (draft | published | superseded; a correction of a published day is a
// new revision, and publishing it writes one erratum per changed figure). Articles are the
// health-education texts (宣传) the centre publishes on the portal.
constexpr const char* kV15 = R"SQL(
ALTER TABLE cases ADD COLUMN origin_place {text} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN converted_at {i64};
ALTER TABLE cases ADD COLUMN closed_at {i64};
ALTER TABLE cases ADD COLUMN outcome {text} NOT NULL DEFAULT '';
CREATE TABLE bulletins (
  id {pk},
  area_code {text} NOT NULL,
  day {text} NOT NULL,
  revision {i64} NOT NULL DEFAULT 1,
  status {text} NOT NULL DEFAULT 'draft',
  figures {text} NOT NULL,
  notices {text} NOT NULL DEFAULT '[]',
  note {text} NOT NULL DEFAULT '',
  correction_reason {text} NOT NULL DEFAULT '',
  generated_at {i64} NOT NULL,
  generated_by {i64} NOT NULL DEFAULT 0,
  published_at {i64},
  published_by {i64} NOT NULL DEFAULT 0,
  rev {i64} NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX bulletins_day ON bulletins (area_code, day, revision);
CREATE INDEX bulletins_published ON bulletins (status, day);
CREATE TABLE bulletin_errata (
  id {pk},
  bulletin_id {i64} NOT NULL REFERENCES bulletins (id),
  area_code {text} NOT NULL,
  day {text} NOT NULL,
  revision {i64} NOT NULL,
  field {text} NOT NULL,
  old_value {i64} NOT NULL,
  new_value {i64} NOT NULL,
  reason {text} NOT NULL,
  at {i64} NOT NULL,
  by_user {i64} NOT NULL DEFAULT 0
);
CREATE INDEX bulletin_errata_day ON bulletin_errata (area_code, day);
CREATE TABLE articles (
  id {pk},
  area_code {text} NOT NULL DEFAULT '',
  category {text} NOT NULL,
  title {text} NOT NULL,
  summary {text} NOT NULL DEFAULT '',
  body {text} NOT NULL,
  status {text} NOT NULL DEFAULT 'draft',
  created_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0,
  updated_at {i64} NOT NULL,
  published_at {i64},
  published_by {i64} NOT NULL DEFAULT 0,
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX articles_status ON articles (status, published_at);
CREATE INDEX cases_converted ON cases (converted_at) WHERE converted_at IS NOT NULL;
CREATE INDEX cases_closed ON cases (closed_at) WHERE closed_at IS NOT NULL;
)SQL";

// v19: an arrival manifest names the arrival group of its travellers (inbound from abroad, or a
// domestic arrival from a high-, medium- or low-risk area), so that a traveller held for an
// identity conflict is admitted into the same group.
constexpr const char* kV19 = R"SQL(
ALTER TABLE arrival_manifests ADD COLUMN group_key {text} NOT NULL DEFAULT 'inbound';
)SQL";

// v20: keeping people who cannot go out supplied (保供, issue 11): the needs record of each
// controlled household (one row per household, the version counting its changes), the
// vulnerable people flagged by grid workers (one active flag per person and category; a cleared
// flag keeps its row), requests with their deadline, owner and status and the history of their
// status, and medical trips (a request's booking of the transfer team; the trip's legs are
// handovers of the person's control order). Requests and trips name their order without a
// foreign key: the retention purge of closed orders leaves them (their own rule keeps them).
constexpr const char* kV20 = R"SQL(
CREATE TABLE household_needs (
  household_id {i64} PRIMARY KEY REFERENCES households (id),
  area_code {text} NOT NULL,
  necessities {text} NOT NULL DEFAULT '',
  medicines {text} NOT NULL DEFAULT '',
  medical {text} NOT NULL DEFAULT '',
  diet {text} NOT NULL DEFAULT '',
  contact_phone {text} NOT NULL DEFAULT '',
  note {text} NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 1,
  recorded_by {i64} NOT NULL DEFAULT 0,
  recorded_by_name {text} NOT NULL DEFAULT '',
  recorded_at {i64} NOT NULL
);
CREATE INDEX household_needs_area ON household_needs (area_code);

CREATE TABLE vulnerable_people (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  category {text} NOT NULL,
  detail {text} NOT NULL DEFAULT '',
  area_code {text} NOT NULL,
  flagged_by {i64} NOT NULL DEFAULT 0,
  flagged_by_name {text} NOT NULL DEFAULT '',
  flagged_at {i64} NOT NULL,
  cleared_at {i64},
  cleared_by {i64} NOT NULL DEFAULT 0,
  cleared_reason {text} NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX vulnerable_people_active ON vulnerable_people (person_id, category) WHERE cleared_at IS NULL;
CREATE INDEX vulnerable_people_area ON vulnerable_people (area_code) WHERE cleared_at IS NULL;

CREATE TABLE supply_requests (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  household_id {i64} NOT NULL DEFAULT 0,
  order_id {i64} NOT NULL,
  area_code {text} NOT NULL,
  kind {text} NOT NULL,
  priority {text} NOT NULL,
  detail {text} NOT NULL DEFAULT '',
  appointment_at {i64},
  deadline {i64} NOT NULL,
  owner_kind {text} NOT NULL,
  owner_org {i64} NOT NULL DEFAULT 0,
  owner_area {text} NOT NULL DEFAULT '',
  owner_name {text} NOT NULL DEFAULT '',
  status {text} NOT NULL DEFAULT 'received',
  reason {text} NOT NULL DEFAULT '',
  received_at {i64} NOT NULL,
  received_by {i64} NOT NULL DEFAULT 0,
  updated_at {i64} NOT NULL,
  served_at {i64},
  escalated_at {i64},
  alert_id {i64} NOT NULL DEFAULT 0
);
CREATE INDEX supply_requests_area ON supply_requests (area_code, id);
CREATE INDEX supply_requests_open ON supply_requests (deadline) WHERE status IN ('received', 'accepted', 'on_the_way');
CREATE INDEX supply_requests_person ON supply_requests (person_id);

CREATE TABLE supply_request_events (
  id {pk},
  request_id {i64} NOT NULL REFERENCES supply_requests (id),
  at {i64} NOT NULL,
  user_id {i64} NOT NULL DEFAULT 0,
  username {text} NOT NULL DEFAULT '',
  status {text} NOT NULL,
  note {text} NOT NULL DEFAULT ''
);
CREATE INDEX supply_request_events_request ON supply_request_events (request_id, id);

CREATE TABLE medical_trips (
  id {pk},
  request_id {i64} NOT NULL UNIQUE REFERENCES supply_requests (id),
  order_id {i64} NOT NULL,
  transfer_org {i64} NOT NULL REFERENCES orgs (id),
  hospital_org {i64} NOT NULL REFERENCES orgs (id),
  home_stage {text} NOT NULL,
  home_area {text} NOT NULL,
  vehicle {text} NOT NULL,
  escort {text} NOT NULL DEFAULT '',
  status {text} NOT NULL DEFAULT 'booked',
  booked_at {i64} NOT NULL,
  booked_by {i64} NOT NULL DEFAULT 0,
  updated_at {i64} NOT NULL
);
CREATE INDEX medical_trips_order ON medical_trips (order_id);
)SQL";

// v21: supplies for people who cannot go out (保供, issue 11): package kinds, supply stations and
// their receiving points (收货点), the stock ledger (one row per move) with the balance of each
// station and kind, and deliveries from a station to a household's door with their lines.
constexpr const char* kV21 = R"SQL(
CREATE TABLE supply_kinds (
  code {text} PRIMARY KEY,
  name {text} NOT NULL,
  unit {text} NOT NULL DEFAULT '',
  lasts_days INTEGER NOT NULL,
  created_at {i64} NOT NULL
);

CREATE TABLE supply_stations (
  id {pk},
  name {text} NOT NULL,
  area_code {text} NOT NULL,
  address {text} NOT NULL DEFAULT '',
  phone {text} NOT NULL DEFAULT '',
  org_id {i64} NOT NULL DEFAULT 0,
  min_days INTEGER NOT NULL DEFAULT 3,
  status {text} NOT NULL DEFAULT 'open',
  created_by {i64} NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX supply_stations_area ON supply_stations (area_code, id);
CREATE INDEX supply_stations_org ON supply_stations (org_id) WHERE org_id <> 0;

CREATE TABLE supply_points (
  id {pk},
  station_id {i64} NOT NULL REFERENCES supply_stations (id),
  name {text} NOT NULL,
  area_code {text} NOT NULL,
  address {text} NOT NULL DEFAULT '',
  created_at {i64} NOT NULL
);
CREATE UNIQUE INDEX supply_points_name ON supply_points (station_id, name);

CREATE TABLE supply_stock (
  station_id {i64} NOT NULL REFERENCES supply_stations (id),
  kind {text} NOT NULL REFERENCES supply_kinds (code),
  on_hand {i64} NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  PRIMARY KEY (station_id, kind)
);

CREATE TABLE supply_moves (
  id {pk},
  station_id {i64} NOT NULL REFERENCES supply_stations (id),
  kind {text} NOT NULL REFERENCES supply_kinds (code),
  move {text} NOT NULL,
  quantity {i64} NOT NULL,
  balance {i64} NOT NULL,
  delivery_id {i64} NOT NULL DEFAULT 0,
  ref {text} NOT NULL DEFAULT '',
  note {text} NOT NULL DEFAULT '',
  by_user {i64} NOT NULL DEFAULT 0,
  by_name {text} NOT NULL DEFAULT '',
  at {i64} NOT NULL
);
CREATE INDEX supply_moves_station ON supply_moves (station_id, id);

CREATE TABLE supply_deliveries (
  id {pk},
  station_id {i64} NOT NULL REFERENCES supply_stations (id),
  point_id {i64} NOT NULL DEFAULT 0,
  household_id {i64} NOT NULL REFERENCES households (id),
  area_code {text} NOT NULL,
  request_id {i64} NOT NULL DEFAULT 0,
  status {text} NOT NULL DEFAULT 'packed',
  note {text} NOT NULL DEFAULT '',
  receiver {text} NOT NULL DEFAULT '',
  reason {text} NOT NULL DEFAULT '',
  created_by {i64} NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  at_point_at {i64},
  done_at {i64},
  done_by {i64} NOT NULL DEFAULT 0,
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX supply_deliveries_area ON supply_deliveries (area_code, id);
CREATE INDEX supply_deliveries_station ON supply_deliveries (station_id, id);
CREATE INDEX supply_deliveries_household ON supply_deliveries (household_id, id);
CREATE INDEX supply_deliveries_request ON supply_deliveries (request_id) WHERE request_id <> 0;

CREATE TABLE supply_delivery_items (
  delivery_id {i64} NOT NULL REFERENCES supply_deliveries (id),
  kind {text} NOT NULL REFERENCES supply_kinds (code),
  quantity {i64} NOT NULL,
  PRIMARY KEY (delivery_id, kind)
);
)SQL";

// v22: treatment of cases through the closed loop (issue 8): a treatment is a case's stay at a
// designated hospital or a shelter hospital (方舱), held by a control order handed over into the
// hospital stage, ended by discharge on the profile's Ct rule and followed by a home health
// monitoring order; re-positive results (复阳) during that monitoring with what they led to; and
// the timeliness breaches of cases raised once each as alerts in the case's area.
constexpr const char* kV22 = R"SQL(
CREATE TABLE treatments (
  id {pk},
  case_id {i64} NOT NULL REFERENCES cases (id),
  person_id {i64} NOT NULL REFERENCES persons (id),
  area_code {text} NOT NULL DEFAULT '',
  org_id {i64} NOT NULL REFERENCES orgs (id),
  facility {text} NOT NULL,
  order_id {i64} NOT NULL DEFAULT 0,
  handover_id {i64} NOT NULL DEFAULT 0,
  status {text} NOT NULL DEFAULT 'admitted',
  admitted_at {i64} NOT NULL,
  admitted_by {i64} NOT NULL DEFAULT 0,
  discharged_at {i64},
  discharged_by {i64} NOT NULL DEFAULT 0,
  monitoring_order_id {i64} NOT NULL DEFAULT 0,
  note {text} NOT NULL DEFAULT ''
);
CREATE INDEX treatments_case ON treatments (case_id, id);
CREATE INDEX treatments_person ON treatments (person_id, id);
CREATE INDEX treatments_org ON treatments (org_id, status);
CREATE TABLE repositives (
  id {pk},
  treatment_id {i64} NOT NULL REFERENCES treatments (id),
  person_id {i64} NOT NULL,
  result_id {i64} NOT NULL DEFAULT 0,
  orf1ab_ct DOUBLE PRECISION,
  n_ct DOUBLE PRECISION,
  decision {text} NOT NULL,
  new_case_id {i64} NOT NULL DEFAULT 0,
  task_id {i64} NOT NULL DEFAULT 0,
  at {i64} NOT NULL,
  UNIQUE (treatment_id, result_id)
);
CREATE TABLE case_breach_alerts (
  id {pk},
  case_id {i64} NOT NULL REFERENCES cases (id),
  step {text} NOT NULL,
  area_code {text} NOT NULL DEFAULT '',
  due_at {i64} NOT NULL,
  done_at {i64},
  raised_at {i64} NOT NULL,
  UNIQUE (case_id, step)
);
CREATE INDEX case_breach_alerts_area ON case_breach_alerts (area_code, id);
ALTER TABLE cases ADD COLUMN timeliness_settled INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_timeliness ON cases (timeliness_settled, id);
)SQL";

// v23: routine-test frequencies by post (issue 11): an enterprise's approved plan names a
// routine-testing group per post (daily for closed-loop production, twice a week for delivery
// and retail staff, ...); the key group's tasks then follow each staff member's post. And the
// open requests of a household are read by household (the needs lists count them per household).
constexpr const char* kV23 = R"SQL(
CREATE TABLE key_group_posts (
  org_id {i64} NOT NULL REFERENCES orgs (id),
  post {text} NOT NULL,
  group_key {text} NOT NULL,
  PRIMARY KEY (org_id, post)
);
CREATE INDEX enterprise_staff_post ON enterprise_staff (org_id, post);
CREATE INDEX supply_requests_household ON supply_requests (household_id, status);
)SQL";

// v25: shelter hospitals (方舱医院) as facilities of their own (issue 8): a hospital organisation
// is a designated hospital unless its row here says it is a shelter hospital; an admission's
// facility must match the organisation's.
constexpr const char* kV25 = R"SQL(
CREATE TABLE hospital_facilities (
  org_id {i64} NOT NULL PRIMARY KEY REFERENCES orgs (id),
  facility {text} NOT NULL,
  beds {i64} NOT NULL DEFAULT 0,
  set_at {i64} NOT NULL,
  set_by {i64} NOT NULL DEFAULT 0
);
)SQL";

// v26: travellers held by an identity conflict of an arrival manifest (issue 6) raise an alert
// when the conflict is still open after `loop.held_traveller_minutes`: the time of the alert is
// kept on the conflict, so that it is raised once and shown on the review page. And (issue 10)
// an upheld appeal against a health-code colour records the colour its corrections left; other
// cities' published risk areas (imported lists) and the arrival reports (来返报备) of travellers,
// whose group follows from where they stayed.
constexpr const char* kV26 = R"SQL(
ALTER TABLE identity_conflicts ADD COLUMN alerted_at {i64};
ALTER TABLE resident_appeals ADD COLUMN colour_after {text} NOT NULL DEFAULT '';
CREATE TABLE external_risk_areas (
  id {pk},
  area_code {text} NOT NULL,
  name {text} NOT NULL,
  level {text} NOT NULL,
  since {text} NOT NULL,
  until {text},
  source {text} NOT NULL DEFAULT '',
  created_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0,
  updated_at {i64} NOT NULL,
  UNIQUE (area_code, level, since)
);
CREATE TABLE arrival_reports (
  id {pk},
  person_id {i64} NOT NULL REFERENCES persons (id),
  area_code {text} NOT NULL,
  origin {text} NOT NULL,
  left_on {text} NOT NULL,
  arrival_date {text} NOT NULL,
  group_key {text} NOT NULL DEFAULT '',
  external_area_id {i64} NOT NULL DEFAULT 0,
  why {text} NOT NULL DEFAULT '',
  order_id {i64} NOT NULL DEFAULT 0,
  referral_id {i64} NOT NULL DEFAULT 0,
  note {text} NOT NULL DEFAULT '',
  created_at {i64} NOT NULL,
  created_by {i64} NOT NULL DEFAULT 0
);
CREATE INDEX arrival_reports_area ON arrival_reports (area_code, id);
CREATE INDEX arrival_reports_person ON arrival_reports (person_id, id);
)SQL";

// v29 (issue 11): a pending handover its sender withdrew (a cancelled medical trip) is closed
// with withdrawn_at; a late medical request climbs one level at a time (grid, street, district,
// city command centre) and remembers the level it reached.
constexpr const char* kV29 = R"SQL(
ALTER TABLE handovers ADD COLUMN withdrawn_at {i64};
ALTER TABLE supply_requests ADD COLUMN escalation_level {i64} NOT NULL DEFAULT 0;
)SQL";

// v30 (issue 6): persons' unique key lists the document number first, (doc_number, doc_type,
// nationality), so that it also serves every lookup by document number alone, and the separate
// index persons_doc_number (doc_number) goes. Same rows, same uniqueness (every ON CONFLICT
// names the three columns, which arbitrate in any order on both backends); one index fewer to
// keep on every write and to build after a bulk load (the 25 M generator builds its indexes one
// after the other at the end, bench/RESULTS.md).
constexpr const char* kV30 = R"SQL(
DROP INDEX persons_doc_number;
DROP INDEX persons_doc;
CREATE UNIQUE INDEX persons_doc ON persons (doc_number, doc_type, nationality);
)SQL";

// v31 (issue 8): referral letters between deployments (跨地区协查函). A letter lists contacts of a
// case who live in another deployment's region; it travels signed like the transfers' documents,
// the receiving deployment imports it, puts the people into its closed loop in one action and
// answers with a signed acknowledgement that the sender imports. direction out: the sender's copy
// (case_id, area_code = the case's area, region = the region written to); direction in: the
// receiver's copy (area_code = the region it is addressed to, region = the sender's). document and
// ack are the signed envelopes; a letter's persons carry each one's outcome.
constexpr const char* kV31 = R"SQL(
CREATE TABLE referral_letters (
  id {pk},
  direction {text} NOT NULL,
  document_id {text} NOT NULL,
  case_id {i64} NOT NULL DEFAULT 0,
  area_code {text} NOT NULL DEFAULT '',
  region {text} NOT NULL DEFAULT '',
  peer {text} NOT NULL DEFAULT '',
  status {text} NOT NULL,
  note {text} NOT NULL DEFAULT '',
  document {text} NOT NULL DEFAULT '',
  ack {text} NOT NULL DEFAULT '',
  created_by {i64} NOT NULL DEFAULT 0,
  created_at {i64} NOT NULL,
  settled_by {i64} NOT NULL DEFAULT 0,
  settled_at {i64},
  decision_note {text} NOT NULL DEFAULT '',
  UNIQUE (direction, document_id)
);
CREATE INDEX referral_letters_area ON referral_letters (direction, area_code, id);
CREATE INDEX referral_letters_case ON referral_letters (case_id);
CREATE TABLE referral_letter_persons (
  id {pk},
  letter_id {i64} NOT NULL REFERENCES referral_letters (id),
  idx {i64} NOT NULL,
  contact_id {i64} NOT NULL DEFAULT 0,
  person_id {i64} NOT NULL DEFAULT 0,
  group_key {text} NOT NULL DEFAULT '',
  outcome {text} NOT NULL DEFAULT 'pending',
  order_id {i64} NOT NULL DEFAULT 0,
  order_ref {text} NOT NULL DEFAULT '',
  note {text} NOT NULL DEFAULT '',
  UNIQUE (letter_id, idx)
);
CREATE INDEX referral_letter_persons_contact ON referral_letter_persons (contact_id);
)SQL";

// v32 (issue 7): the round's sampling plan by household and time slot (分时段、按户采样安排).
// A plan belongs to one round and is replaced whole when made again. round_slots: each active
// point's time slots on the round's day (minutes after local midnight, capacity = capacity per
// hour x slot length) with the persons planned in it. round_slot_units: every expected resident
// of the round's area in exactly one unit; a unit is a household (person_id 0: all its expected
// members in the round's area), or one person (household_id 0: a person without a household; or
// a member of a household too large for one slot, which then takes consecutive slots of one
// point). area_code is the household's grid (its first member's, as coverage counts it).
constexpr const char* kV32 = R"SQL(
CREATE TABLE round_slot_plans (
  round_id {i64} PRIMARY KEY REFERENCES test_rounds (id),
  slot_minutes {i64} NOT NULL,
  residents {i64} NOT NULL,
  units {i64} NOT NULL,
  points {i64} NOT NULL,
  capacity {i64} NOT NULL,
  made_at {i64} NOT NULL,
  made_by {i64} NOT NULL DEFAULT 0
);
CREATE TABLE round_slots (
  id {pk},
  round_id {i64} NOT NULL REFERENCES test_rounds (id),
  point_id {i64} NOT NULL,
  area_code {text} NOT NULL,
  starts {i64} NOT NULL,
  ends {i64} NOT NULL,
  capacity {i64} NOT NULL,
  planned {i64} NOT NULL
);
CREATE INDEX round_slots_round ON round_slots (round_id, point_id, starts);
CREATE TABLE round_slot_units (
  id {pk},
  round_id {i64} NOT NULL REFERENCES test_rounds (id),
  area_code {text} NOT NULL,
  household_id {i64} NOT NULL,
  person_id {i64} NOT NULL,
  slot_id {i64} NOT NULL,
  members {i64} NOT NULL
);
CREATE UNIQUE INDEX round_slot_units_key ON round_slot_units (round_id, household_id, person_id);
CREATE INDEX round_slot_units_area ON round_slot_units (round_id, area_code, id);
)SQL";

// v33 (issue 11): the person columns a merge re-points that had no index on the person (a merge
// reads them by the merged record: residents' sessions, round exclusions, referrals), and a
// supply station's requests (owner_kind 'supply_station', owner_org = the station) for its staff.
constexpr const char* kV33 = R"SQL(
CREATE INDEX resident_sessions_person ON resident_sessions (person_id);
CREATE INDEX round_exclusions_person ON round_exclusions (person_id);
CREATE INDEX referrals_person ON referrals (person_id) WHERE person_id <> 0;
CREATE INDEX supply_requests_station ON supply_requests (owner_org, id) WHERE owner_kind = 'supply_station';
)SQL";

// v36 (issue 11): the person columns a merge re-points since v33 (the outbox's messages, the units
// of a round's sampling plan, the persons of referral letters), indexed on the person for the
// merge's read by the merged record (person_id 0 = no person: left out).
constexpr const char* kV36 = R"SQL(
CREATE INDEX notify_messages_person ON notify_messages (person_id) WHERE person_id <> 0;
CREATE INDEX round_slot_units_person ON round_slot_units (person_id) WHERE person_id <> 0;
CREATE INDEX referral_letter_persons_person ON referral_letter_persons (person_id) WHERE person_id <> 0;
)SQL";

// v37 (issue 6): how far the audit queue of a SQLite deployment (store/audit_queue.hpp) has been
// copied into audit_log, per queue file (its random uid). Written in the same transaction as the
// copied rows, so a record is copied exactly once. PostgreSQL has no queue; the table stays empty.
// (issue 10): an arrival report's channel: 'staff' (a grid worker or the centre) or 'resident'
// (the resident's own report at /r).
constexpr const char* kV37 = R"SQL(
CREATE TABLE audit_queue_moved (
  queue_uid TEXT PRIMARY KEY,
  moved BIGINT NOT NULL
);
ALTER TABLE arrival_reports ADD COLUMN channel TEXT NOT NULL DEFAULT 'staff';
)SQL";

// v38: the venue-scan queue of a SQLite deployment (store/scan_queue.hpp): the ids of
// venue_scans reserved for queued visits (every other append takes an id above them), and the
// last queue sequence moved into venue_scans per queue file (exactly-once moves). Unused on
// PostgreSQL.
constexpr const char* kV38 = R"SQL(
CREATE TABLE scan_id_reserved (
  k INTEGER PRIMARY KEY,
  upto BIGINT NOT NULL
);
CREATE TABLE scan_queue_moved (
  queue_uid TEXT PRIMARY KEY,
  moved BIGINT NOT NULL
);
)SQL";

// v39 (issue 7), SQLite only: the merged persons (merged_into set) by their own id, a partial
// index holding only them (none in a generated city), so that finding persons by document number
// (a sampling upload: 25 M in a city-wide round) reads doc_number and id from persons_doc alone
// (id is the rowid) and asks this small index which of the hits are merged, instead of reading
// every hit's table row for merged_into (bench/RESULTS.md, "25 M-person testing round").
// PostgreSQL's persons_doc holds no id, so its lookup reads the rows anyway and takes
// merged_into with them: no index there.
constexpr const char* kV39Sqlite = R"SQL(
CREATE INDEX persons_merged_id ON persons (id) WHERE merged_into IS NOT NULL;
)SQL";

// v40 (issue 8): the person index of the scan log by person, venue and time, so that the
// duplicate and exit lookups of every scan (the person's latest visit at one venue,
// CaseRepository::latest_scan) go straight to that visit. With (person_id, entered_at) the
// planner took the venue index or the person's window, and read the row of every visit in it
// (a busy venue holds hundreds within trace.duplicate_seconds). A person's own visits over a
// window (investigations) read the person's entries and sort them: a few hundred at most.
constexpr const char* kV40 = R"SQL(
DROP INDEX venue_scans_person;
CREATE INDEX venue_scans_person ON venue_scans (person_id, venue_id, entered_at);
)SQL";

// v41 (issue 8), SQLite only: the persons whose scan facts (CaseRepository::scan_facts: name,
// merged_into, an open case, an active control order, a flagging test task) may have changed, in
// commit order, so that a server can keep the facts of the people scanning in memory and forget
// exactly those changed by any connection of any process (store/scan_facts_cache.hpp). Filled by
// triggers only; trimmed to its latest rows by trim_scan_fact_changes. A later migration that
// rebuilds one of these tables must create its triggers again. PostgreSQL keeps no such cache.
constexpr const char* kV41Sqlite = R"SQL(
CREATE TABLE scan_fact_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  person_id INTEGER NOT NULL
);
CREATE TRIGGER scan_facts_person_update AFTER UPDATE OF name, merged_into ON persons
WHEN OLD.name IS NOT NEW.name OR OLD.merged_into IS NOT NEW.merged_into
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (NEW.id);
END;
CREATE TRIGGER scan_facts_person_delete AFTER DELETE ON persons
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (OLD.id);
END;
CREATE TRIGGER scan_facts_case_insert AFTER INSERT ON cases
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (NEW.person_id);
END;
CREATE TRIGGER scan_facts_case_update AFTER UPDATE OF person_id, status ON cases
WHEN OLD.person_id IS NOT NEW.person_id OR OLD.status IS NOT NEW.status
BEGIN
  INSERT INTO scan_fact_changes (person_id) SELECT OLD.person_id UNION SELECT NEW.person_id;
END;
CREATE TRIGGER scan_facts_case_delete AFTER DELETE ON cases
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (OLD.person_id);
END;
CREATE TRIGGER scan_facts_order_insert AFTER INSERT ON control_orders
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (NEW.person_id);
END;
CREATE TRIGGER scan_facts_order_update AFTER UPDATE OF person_id, status ON control_orders
WHEN OLD.person_id IS NOT NEW.person_id OR OLD.status IS NOT NEW.status
BEGIN
  INSERT INTO scan_fact_changes (person_id) SELECT OLD.person_id UNION SELECT NEW.person_id;
END;
CREATE TRIGGER scan_facts_order_delete AFTER DELETE ON control_orders
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (OLD.person_id);
END;
CREATE TRIGGER scan_facts_task_insert AFTER INSERT ON test_tasks
WHEN NEW.flag_colour <> ''
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (NEW.person_id);
END;
CREATE TRIGGER scan_facts_task_update AFTER UPDATE OF person_id, status, flag_colour ON test_tasks
WHEN (OLD.flag_colour <> '' OR NEW.flag_colour <> '') AND
     (OLD.person_id IS NOT NEW.person_id OR OLD.status IS NOT NEW.status OR OLD.flag_colour IS NOT NEW.flag_colour)
BEGIN
  INSERT INTO scan_fact_changes (person_id) SELECT OLD.person_id UNION SELECT NEW.person_id;
END;
CREATE TRIGGER scan_facts_task_delete AFTER DELETE ON test_tasks
WHEN OLD.flag_colour <> ''
BEGIN
  INSERT INTO scan_fact_changes (person_id) VALUES (OLD.person_id);
END;
)SQL";

// v42 (issue 8): the scan log's index by day goes. Nothing reads by day (the retention purge
// takes the oldest ids by entered_at, counts by day are rare), and every visit moved into the log
// paid for its entry (bench/RESULTS.md, "Venue scans: scan facts in memory").
constexpr const char* kV42 = R"SQL(
DROP INDEX venue_scans_day;
)SQL";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{
      {1, kV1, kV1Sqlite, kV1Pg},
      {2, kV2, "", ""},
      {3, kV3, "", ""},
      {4, kV4, kV4Sqlite, kV4Pg},
      {5, kV5, "", ""},
      {6, kV6, kV6Sqlite, kV6Pg},
      {7, kV7, "", ""},
      {8, kV8, "", ""},
      {9, kV9, "", ""},
      {10, kV10, "", ""},
      {11, kV11, "", ""},
      {12, kV12, kV12Sqlite, kV12Pg, true},
      {13, kV13, "", ""},
      {14, kV14, "", ""},
      {15, kV15, "", ""},
      {16, kV16, "", ""},
      {17, kV17, "", ""},
      {18, kV18, "", ""},
      {19, kV19, "", ""},
      {20, kV20, "", ""},
      {21, kV21, "", ""},
      {22, kV22, "", ""},
      {23, kV23, "", ""},
      {25, kV25, "", ""},
      {26, kV26, "", ""},
      {29, kV29, "", ""},
      {30, kV30, "", ""},
      {31, kV31, "", ""},
      {32, kV32, "", ""},
      {33, kV33, "", ""},
      {36, kV36, "", ""},
      {37, kV37, "", ""},
      {38, kV38, "", ""},
      {39, "", kV39Sqlite, ""},
      {40, kV40, "", ""},
      {41, "", kV41Sqlite, ""},
      {42, kV42, "", ""},
  };
  return all;
}

int latest_schema_version() { return migrations().back().version; }

int applied_schema_version(Db& db) { return read_version(db); }

int migrate(Db& db) {
  // Fast path: an up-to-date database needs no lock.
  try {
    if (read_version(db) >= latest_schema_version() &&
        applied_count(db) >= static_cast<std::int64_t>(migrations().size()))
      return read_version(db);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::unavailable) throw;
    if (db.backend() == Backend::postgresql) db.rollback();  // clear an aborted state, if any
  }
  if (db.backend() == Backend::postgresql) {
    Q(db, "SELECT pg_advisory_lock(7426001, hashtext(current_schema()))").run();
    try {
      db.exec_script(kCreateTable);
      apply_pending(db);
    } catch (...) {
      try {
        Q(db, "SELECT pg_advisory_unlock(7426001, hashtext(current_schema()))").run();
      } catch (...) {
      }
      throw;
    }
    Q(db, "SELECT pg_advisory_unlock(7426001, hashtext(current_schema()))").run();
  } else {
    db.begin();
    try {
      db.exec_script(kCreateTable);
      db.commit();
    } catch (...) {
      db.rollback();
      throw;
    }
    apply_pending(db);
  }
  return read_version(db);
}

}  // namespace bihuan::store
