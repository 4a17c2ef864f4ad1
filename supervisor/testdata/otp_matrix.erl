%% otp_matrix runs the scenarios of supervisor's TestStrategyMatrix on Erlang/OTP's own
%% supervisor and prints, per scenario, the sequence of child starts, exits and stops.
%% supervisor's TestMatchesOTP compares our supervisor with otp_matrix.golden, which
%% this module writes (go test -run TestMatchesOTP -rewrite, with erl installed).
%%
%% Children a, b, c are started in order (simple_one_for_one: from the template, by
%% start_child). b is made to exit one way; once the supervisor has handled it, the
%% supervisor is shut down. Every child traps exits and reports its own start, its exit
%% on command, and its stop by the supervisor, to the collecting process.
-module(otp_matrix).
-behaviour(supervisor).
-export([main/0, init/1, start_child/2, child_init/2]).

main() ->
    logger:set_primary_config(level, none),
    process_flag(trap_exit, true),
    Lines = [scenario(S, R, K) || S <- [one_for_one, one_for_all, rest_for_one, simple_one_for_one],
                                  R <- [permanent, transient, temporary],
                                  K <- [nil, shutdown, error, panic, canceled]],
    io:put_chars(Lines),
    halt().

init({simple_one_for_one, Restart, Coll}) ->
    {ok, {#{strategy => simple_one_for_one, intensity => 100, period => 60},
          [#{id => tmpl, start => {?MODULE, start_child, [Coll]}, restart => Restart}]}};
init({Strategy, Restart, Coll}) ->
    {ok, {#{strategy => Strategy, intensity => 100, period => 60},
          [#{id => Id, start => {?MODULE, start_child, [Coll, Id]}, restart => Restart}
           || Id <- [a, b, c]]}}.

start_child(Coll, Id) ->
    proc_lib:start_link(?MODULE, child_init, [Coll, Id]).

child_init(Coll, Id) ->
    process_flag(trap_exit, true),
    register(Id, self()),
    Coll ! {ev, start, Id},
    proc_lib:init_ack({ok, self()}),
    receive
        {'EXIT', _From, Reason} ->
            Coll ! {ev, stop, Id},
            exit(Reason);
        {exit_with, Kind} ->
            Coll ! {ev, exit, Id, Kind},
            do_exit(Kind)
    end.

do_exit(nil) -> exit(normal);
do_exit(shutdown) -> exit({shutdown, leaving});
do_exit(error) -> exit(boom);
do_exit(panic) -> erlang:error(kaboom);
do_exit(canceled) -> exit(canceled).

scenario(Strategy, Restart, Kind) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {Strategy, Restart, self()}),
    case Strategy of
        simple_one_for_one -> [{ok, _} = supervisor:start_child(Sup, [Id]) || Id <- [a, b, c]];
        _ -> ok
    end,
    Old = whereis(b),
    MRef = monitor(process, Old),
    Old ! {exit_with, Kind},
    receive {'DOWN', MRef, process, Old, _} -> ok end,
    settle(Sup, Old),
    exit(Sup, shutdown),
    receive {'EXIT', Sup, shutdown} -> ok end,
    Events = collect([], #{}),
    io_lib:format("~s/~s/~s: ~s~n", [Strategy, Restart, Kind, lists:join(",", Events)]).

%% settle waits until the supervisor has handled b's exit: b's old process is no longer
%% in its children (restarted, stopped or removed). which_children is handled in order
%% with the exit, so once it no longer shows the old pid, the whole restart is done.
settle(Sup, Old) ->
    case lists:keymember(Old, 2, supervisor:which_children(Sup)) of
        true -> timer:sleep(1), settle(Sup, Old);
        false -> ok
    end.

collect(Acc, Started) ->
    receive
        {ev, start, Id} ->
            Word = case maps:is_key(Id, Started) of true -> "restart"; false -> "start" end,
            collect([Word ++ " " ++ atom_to_list(Id) | Acc], Started#{Id => true});
        {ev, stop, Id} ->
            collect(["stop " ++ atom_to_list(Id) | Acc], Started);
        {ev, exit, Id, Kind} ->
            Normal = lists:member(Kind, [nil, shutdown]),
            Word = case Normal of true -> " normal"; false -> " abnormal" end,
            collect(["exit " ++ atom_to_list(Id) ++ Word | Acc], Started)
    after 0 ->
        lists:reverse(Acc)
    end.
