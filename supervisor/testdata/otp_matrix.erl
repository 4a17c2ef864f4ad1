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
-export([main/0, init/1, start_child/2, start_child/3, child_init/2]).

main() ->
    logger:set_primary_config(level, none),
    process_flag(trap_exit, true),
    Lines = [scenario(S, R, K) || S <- [one_for_one, one_for_all, rest_for_one, simple_one_for_one],
                                  R <- [permanent, transient, temporary],
                                  K <- [nil, shutdown, error, panic, canceled]],
    io:put_chars(Lines),
    io:put_chars([custom(C) || C <- customs()]),
    halt().

%% customs are scenarios beyond the matrix: {Name, SupFlags, Children, Actions}, where a
%% child is {Id, Restart, Significant, ok | fail} and an action {exit, Id, Kind} or
%% {terminate, Id}. supervisor's TestMatchesOTP has the same list, by name.
customs() ->
    P = permanent, Tr = transient, Te = temporary,
    [{intensity, #{intensity => 2, period => 10}, [{a, P, false, ok}, {b, P, false, ok}, {c, P, false, ok}],
      [{exit, b, error}, {exit, b, error}, {exit, b, error}]},
     {intensity_zero, #{intensity => 0}, [{a, P, false, ok}, {b, P, false, ok}],
      [{exit, a, error}]},
     {rollback, #{}, [{a, P, false, ok}, {b, P, false, ok}, {c, P, false, fail}], []},
     {any_significant, #{auto_shutdown => any_significant}, [{a, P, false, ok}, {b, Tr, true, ok}, {c, P, false, ok}],
      [{exit, b, nil}]},
     {any_significant_abnormal, #{auto_shutdown => any_significant}, [{a, P, false, ok}, {b, Tr, true, ok}, {c, P, false, ok}],
      [{exit, b, error}]},
     {any_significant_terminated, #{auto_shutdown => any_significant}, [{a, P, false, ok}, {b, Tr, true, ok}],
      [{terminate, b}]},
     {all_significant, #{auto_shutdown => all_significant}, [{a, Tr, true, ok}, {b, P, false, ok}, {c, Te, true, ok}],
      [{exit, a, nil}, {exit, c, error}]},
     {one_for_all_temporary_sibling, #{strategy => one_for_all}, [{a, P, false, ok}, {b, Te, false, ok}, {c, P, false, ok}],
      [{exit, c, error}]},
     {rest_for_one_temporary_after, #{strategy => rest_for_one}, [{a, P, false, ok}, {b, P, false, ok}, {c, Te, false, ok}],
      [{exit, b, error}]},
     {one_for_all_revives_terminated, #{strategy => one_for_all}, [{a, P, false, ok}, {b, P, false, ok}],
      [{terminate, a}, {exit, b, error}]},
     {transient_normal_then_one_for_all, #{strategy => one_for_all}, [{a, Tr, false, ok}, {b, P, false, ok}],
      [{exit, a, shutdown}, {exit, b, panic}]}].

custom({Name, Flags, Children, Actions}) ->
    Coll = self(),
    Specs = [#{id => Id, start => {?MODULE, start_child, [Coll, Id, Mode]}, restart => R, significant => Sig}
             || {Id, R, Sig, Mode} <- Children],
    case supervisor:start_link(?MODULE, {custom, Flags#{intensity => maps:get(intensity, Flags, 100),
                                                      period => maps:get(period, Flags, 60)}, Specs}) of
        {ok, Sup} ->
            [act(Sup, A) || A <- Actions],
            stop(Sup);
        {error, _} ->
            receive {'EXIT', _, _} -> ok after 0 -> ok end
    end,
    io_lib:format("~s: ~s~n", [Name, lists:join(",", collect([], #{}))]).

act(Sup, {terminate, Id}) ->
    ok = supervisor:terminate_child(Sup, Id);
act(Sup, {exit, Id, Kind}) ->
    Old = whereis(Id),
    MRef = monitor(process, Old),
    Old ! {exit_with, Kind},
    receive {'DOWN', MRef, process, Old, _} -> ok end,
    settle(Sup, Old).

stop(Sup) ->
    exit(Sup, shutdown),
    receive {'EXIT', Sup, _} -> ok end.

init({custom, Flags, Specs}) ->
    {ok, {Flags, Specs}};
init({simple_one_for_one, Restart, Coll}) ->
    {ok, {#{strategy => simple_one_for_one, intensity => 100, period => 60},
          [#{id => tmpl, start => {?MODULE, start_child, [Coll]}, restart => Restart}]}};
init({Strategy, Restart, Coll}) ->
    {ok, {#{strategy => Strategy, intensity => 100, period => 60},
          [#{id => Id, start => {?MODULE, start_child, [Coll, Id]}, restart => Restart}
           || Id <- [a, b, c]]}}.

start_child(Coll, Id) ->
    proc_lib:start_link(?MODULE, child_init, [Coll, Id]).

start_child(_Coll, _Id, fail) -> {error, boom};
start_child(Coll, Id, ok) -> start_child(Coll, Id).

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
    Events = case Strategy of
                 %% OTP stops dynamic children all at once, in no set order.
                 simple_one_for_one -> sort_stops(collect([], #{}));
                 _ -> collect([], #{})
             end,
    io_lib:format("~s/~s/~s: ~s~n", [Strategy, Restart, Kind, lists:join(",", Events)]).

sort_stops(Events) ->
    {Stops, Rest} = lists:splitwith(fun("stop " ++ _) -> true; (_) -> false end, lists:reverse(Events)),
    lists:reverse(Rest) ++ lists:sort(Stops).

%% settle waits until the supervisor has handled b's exit: b's old process is no longer
%% in its children (restarted, stopped or removed). which_children is handled in order
%% with the exit, so once it no longer shows the old pid, the whole restart is done.
settle(Sup, Old) ->
    Children = try supervisor:which_children(Sup) catch exit:_ -> [] end,
    case lists:keymember(Old, 2, Children) of
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
