//! Integration tests of the persistence adapters: one contract suite run against SQLite and
//! PostgreSQL, plus checks of the two migration folders and of connecting.
//!
//! PostgreSQL tests need `TEST_POSTGRES_URL` (a maintenance database such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) when they are built; without it they are built
//! `#[ignore]`d and the test output counts them as ignored.

mod connect;
mod contract;
mod raw;
mod schema;

use persistence::testing::{TEST_POSTGRES_URL, TestDatabase};

/// A fresh PostgreSQL test database, or `None` after saying why the test is skipped.
fn postgres_or_skip() -> Option<TestDatabase> {
    let database = TestDatabase::postgres();
    if database.is_none() {
        eprintln!("skipped: {TEST_POSTGRES_URL} is unset, so this PostgreSQL test did not run");
    }
    database
}

/// Runs each contract function against a fresh SQLite database and a fresh PostgreSQL database.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let database = persistence::testing::TestDatabase::sqlite();
                    crate::contract::$name(&database);
                }
            )*
        }

        mod postgres {
            $(
                #[test]
                #[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
                fn $name() {
                    if let Some(database) = crate::postgres_or_skip() {
                        crate::contract::$name(&database);
                    }
                }
            )*
        }
    };
}

contract_tests!(
    a_created_user_is_found_by_id_username_and_email,
    a_created_user_is_active_with_a_profile_created_when_the_user_joined,
    unknown_users_are_not_found,
    usernames_are_unique_but_case_sensitive,
    emails_are_unique_ignoring_case,
    a_failed_creation_leaves_neither_user_nor_profile,
    a_user_is_found_with_its_profile,
    an_update_changes_only_the_given_fields_and_sets_updated_at,
    an_update_to_another_users_email_is_refused_and_changes_nothing,
    a_user_may_change_the_case_of_their_own_email,
    an_update_of_an_unknown_user_is_not_found,
    values_at_every_domain_limit_fit_their_columns,
    a_login_is_recorded,
    a_password_hash_is_replaced,
    a_recorded_token_is_not_revoked_until_revoked,
    revoking_twice_keeps_the_first_revocation_time,
    revoking_an_unknown_token_records_it_as_revoked,
    only_tokens_that_expired_before_now_are_deleted,
    times_round_trip_with_microseconds,
    deleting_a_user_deletes_its_profile,
    the_health_check_passes,
    concurrent_registrations_with_one_email_create_one_user,
    concurrent_registrations_with_one_username_create_one_user,
    a_started_session_is_found_and_listed_while_live,
    live_sessions_are_listed_most_recently_used_first,
    a_touch_moves_only_last_used_at,
    a_session_ends_once_and_only_for_its_user,
    ending_all_sessions_can_keep_one,
    starting_beyond_the_cap_evicts_the_least_recently_used,
    expired_sessions_do_not_count_towards_the_cap,
    a_user_is_found_with_its_own_session_only,
    a_user_is_found_with_its_own_session_and_its_profile,
    deactivating_a_user_ends_its_sessions_and_reactivating_keeps_them_ended,
    deleting_a_user_deletes_its_sessions,
    a_rotation_is_won_once_and_then_reports_the_successor,
    concurrent_rotations_of_one_token_have_one_winner,
    rotating_a_token_of_no_live_session_of_its_user_is_unknown,
    pruning_removes_only_ended_or_expired_sessions_at_most_a_batch_at_a_time,
    expired_tokens_are_deleted_at_most_a_batch_at_a_time,
    a_recorded_tokens_session_round_trips,
    throttle_records_load_as_charged_and_absent_ones_as_none,
    a_throttle_charge_loses_when_a_row_changed_since_it_was_read,
    concurrent_throttle_charges_of_one_key_lose_no_update,
    of_concurrent_throttle_charges_from_one_read_exactly_one_is_written,
    a_success_resets_the_address_record_whatever_it_holds,
    throttle_pruning_removes_only_expired_rows_at_most_a_batch_at_a_time,
    a_user_is_created_unverified_unless_said_otherwise_with_no_pending_email,
    a_creation_queues_its_messages_and_a_refused_one_queues_nothing,
    an_update_records_keeps_and_clears_the_pending_email_and_queues_its_messages,
    an_address_in_another_mailbox_is_unverified_and_a_change_of_case_is_not,
    a_password_change_decided_on_a_replaced_hash_writes_nothing,
    a_refused_update_queues_nothing,
    a_password_change_ends_the_other_sessions_and_queues_its_messages,
    a_password_change_of_an_unknown_user_writes_nothing,
    a_password_change_whose_message_fails_changes_nothing,
    confirming_the_own_address_verifies_it_ignoring_case,
    confirming_the_pending_address_makes_it_the_address,
    confirming_an_address_that_is_neither_is_not_found_and_writes_nothing,
    confirming_a_pending_address_taken_meanwhile_is_refused,
    deleting_a_user_removes_its_profile_sessions_and_refresh_tokens,
    a_deleted_users_name_and_address_may_be_registered_again_under_a_new_id,
    every_kind_of_message_is_claimed_as_it_was_queued_oldest_first,
    only_due_messages_are_claimed_at_most_a_batch_at_a_time,
    a_lease_that_ran_out_makes_a_message_claimable_again,
    concurrent_claimers_claim_every_message_exactly_once,
    a_message_retried_later_is_due_again_then_with_its_attempts,
    sent_and_failed_messages_lose_their_bodies_and_are_never_claimed_again,
    resolving_a_request_replaces_it_with_its_follow_ups_once,
    recent_mails_are_counted_by_kind_and_address_ignoring_case,
    pruning_removes_only_messages_finished_before_a_time_at_most_a_batch,
    an_unreadable_message_is_an_unexpected_error_and_does_not_block_the_rest,
    waiting_for_work_ends_with_a_commit_that_queued_and_times_out_otherwise,
    audit_events_round_trip_and_are_listed_by_account_time_and_limit,
    a_creation_records_its_events_as_the_new_users_and_a_refused_one_records_none,
    ending_sessions_records_one_event_per_session_with_its_reason_and_origin,
    a_session_start_records_its_events_with_its_id_and_each_eviction,
    deactivation_password_change_and_deletion_commit_their_events,
    audit_pruning_removes_only_old_events_at_most_a_batch_at_a_time,
);
