# frozen_string_literal: true

# The Canvas CSV oracle: reads each file exactly as Canvas's SIS importer does and prints
# one JSON verdict per line, so Preflight's reading can be compared with Ruby's own.
#
#   ruby tests/oracle/canvas_csv.rb FILE...        # one verdict per file
#   ruby tests/oracle/canvas_csv.rb --list LIST    # paths, one per line (one process for all)
#
# What Canvas does (instructure/canvas-lms lib/sis/csv/import_refactored.rb `process_file`,
# `number_of_rows`; csv_base_importer.rb `PARSE_ARGS`, `csv_rows`):
# 1. `valid_utf8?` over the raw bytes; failure: "Invalid UTF-8", the file is dropped.
# 2. The first row, read with PARSE_ARGS but `headers: false` (so the field converter strips
#    it), lower-cased, is matched against the importers' header predicates in IMPORTERS
#    order; no match: "Couldn't find Canvas CSV import headers". No row at all (an empty
#    file, only a BOM, only blank lines): nothing, no error.
# 3. The whole file is read with PARSE_ARGS; a CSV::MalformedCSVError anywhere (steps 2 or
#    3): "Malformed CSV", the file is dropped.
# 4. Each data row gets `lineno + 2` (rows skipped by skip_blanks are not counted); a row
#    whose `to_hash` values are all nil is skipped (but counted).
#
# Verdict JSON: {"file", "verdict": read|empty|invalid_utf8|malformed|no_headers,
# "message", "kind" (Preflight's kind name), "header": [...], "rows": [[row, [cells], nul]]}.
# Cells are the converted values (nil = blank); nul: the row fails users' NUL check.

require 'csv'
require 'json'

# ActiveSupport's String#blank? (Rails: BLANK_RE = /\A[[:space:]]*\z/), without loading Rails.
BLANK_RE = /\A[[:space:]]*\z/.freeze

def presence(s)
  s.nil? || s.empty? || BLANK_RE.match?(s) ? nil : s
end

PARSE_ARGS = {
  headers: :first_row,
  encoding: 'bom|utf-8',
  skip_blanks: true,
  header_converters: :downcase,
  converters: ->(field) { presence(field&.strip) }
}.freeze

# Header predicates in Canvas's IMPORTERS order (shared/specs/formats.md §1.2), with the
# kind names Preflight uses.
def has(row, *cols) = cols.all? { |c| row.include?(c) }
def any(row, *cols) = cols.any? { |c| row.include?(c) }

PREDICATES = [
  ['change_sis_ids', ->(r) { any(r, 'old_id', 'old_integration_id') }],
  ['accounts', ->(r) { has(r, 'account_id', 'parent_account_id') }],
  ['terms', ->(r) { has(r, 'term_id', 'name') }],
  ['abstract_courses', ->(r) { has(r, 'abstract_course_id', 'short_name') && !any(r, 'course_id') }],
  ['courses', ->(r) { has(r, 'course_id', 'short_name') }],
  ['sections', ->(r) { has(r, 'section_id', 'name') }],
  ['xlists', ->(r) { has(r, 'xlist_course_id', 'section_id') }],
  ['users', lambda { |r|
    has(r, 'user_id', 'login_id') && !any(r, 'existing_user_id', 'existing_integration_id', 'existing_canvas_user_id')
  }],
  ['logins', ->(r) { any(r, 'existing_user_id', 'existing_integration_id', 'existing_canvas_user_id') }],
  ['enrollments', ->(r) { any(r, 'section_id', 'course_id') && any(r, 'user_id', 'user_integration_id') }],
  ['admins', ->(r) { has(r, 'account_id', 'user_id') }],
  ['group_categories', ->(r) { has(r, 'group_category_id', 'category_name') }],
  ['groups', ->(r) { has(r, 'group_id', 'name') }],
  ['group_memberships', ->(r) { has(r, 'group_id', 'user_id') }],
  ['differentiation_tag_sets', ->(r) { has(r, 'tag_set_id', 'set_name') }],
  ['differentiation_tags', ->(r) { has(r, 'tag_id', 'name') }],
  ['differentiation_tag_memberships', ->(r) { has(r, 'tag_id', 'user_id') }],
  ['grade_publishing_results', ->(r) { has(r, 'enrollment_id', 'grade_publishing_status') }],
  ['user_observers', ->(r) { has(r, 'observer_id', 'student_id') }],
  ['institutional_tag_categories', lambda { |r|
    has(r, 'category_id', 'name') && !any(r, 'tag_id', 'institutional_tag_id')
  }],
  ['institutional_tags', ->(r) { has(r, 'institutional_tag_id', 'category_id', 'name') }],
  ['institutional_tag_associations', ->(r) { has(r, 'institutional_tag_id', 'user_id') }]
].freeze

# Canvas runs `valid_utf8?` (Iconv UTF-8 → UTF-8) over the raw bytes; Ruby's own validity
# check rejects the same sequences (overlongs, surrogates, truncated characters).
def valid_utf8?(path)
  File.binread(path).force_encoding(Encoding::UTF_8).valid_encoding?
end

def verdict(path)
  return { verdict: 'invalid_utf8', message: 'Invalid UTF-8' } unless valid_utf8?(path)

  kind = nil
  header_seen = false
  begin
    # Canvas's detection pass: the first row only, converted, lower-cased (nil-safe: a
    # blank header cell is nil, and Canvas accepts files with empty header columns).
    CSV.foreach(path, **PARSE_ARGS, headers: false) do |row|
      header_seen = true
      row = row.map { |h| h&.downcase }
      kind = PREDICATES.find { |_, pred| pred.call(row) }&.first
      break
    end
  rescue CSV::MalformedCSVError => e
    return { verdict: 'malformed', message: 'Malformed CSV', detail: e.message }
  end
  return { verdict: 'empty', message: nil, rows: [] } unless header_seen
  return { verdict: 'no_headers', message: "Couldn't find Canvas CSV import headers" } if kind.nil?

  rows = []
  header = nil
  lineno = -1
  begin
    CSV.foreach(path, **PARSE_ARGS) do |row|
      lineno += 1
      header ||= row.headers
      next if row.to_hash.values.all?(&:nil?)

      # user_importer.rb `validate`: a NUL left in any converted field fails the row.
      rows << [lineno + 2, row.fields, row.fields.any? { |v| v.to_s.include?("\x00") }]
    end
  rescue CSV::MalformedCSVError => e
    return { verdict: 'malformed', message: 'Malformed CSV', detail: e.message }
  end
  { verdict: 'read', message: nil, kind: kind, header: header, rows: rows }
end

paths = if ARGV[0] == '--list'
          File.readlines(ARGV[1], chomp: true).reject(&:empty?)
        else
          ARGV
        end
paths.each do |p|
  v = begin
    verdict(p)
  rescue StandardError => e
    { verdict: 'oracle_error', message: "#{e.class}: #{e.message}" }
  end
  # Every string here is valid UTF-8 (checked first), so JSON generation cannot fail.
  puts JSON.generate({ file: p, ruby_csv: CSV::VERSION }.merge(v))
end
