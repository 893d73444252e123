"""A short PyTorch P-DQN loop on pamdp_bench's gymnasium adapter (CPU).

What a PyTorch user writes against the suite's envs: ``gymnasium.make("pamdp_bench/<id>",
flat_params=True)`` gives actions ``(k, z)`` with ``z`` every action's parameters side by side
in ``[-1, 1]`` (the layout P-DQN's parameter network outputs), writable float32 observations,
and ``env.unwrapped.raw_param_space`` for agents that want the env's own units. This is a
plain single-process P-DQN (Xiong et al. 2018): a Q-network over ``[s, z]`` with one output
per discrete action, a parameter network ``s -> z``, epsilon-greedy k with Gaussian parameter
noise, uniform replay and soft target updates. It is an example, not a tuned baseline (the
suite's own ``pdqn`` is the jitted, vmapped one).

    pip install torch  # then
    python examples/pytorch_pdqn.py --env=Platform-v0 --steps=20000
"""

from __future__ import annotations

import argparse
import copy

import gymnasium
import numpy as np
import torch
from torch import nn

import pamdp_bench  # noqa: F401  (registers the gymnasium ids)


def mlp(n_in: int, n_out: int, hidden: int = 128) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, n_out))


def train(env_id: str = "Platform-v0", steps: int = 20_000, seed: int = 0,
          batch: int = 64, gamma: float = 0.99, log_every: int = 2_000) -> list[float]:
    """Train for ``steps`` env steps; returns the finished episodes' returns."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gymnasium.make(f"pamdp_bench/{env_id}", flat_params=True)
    n_obs = env.observation_space.shape[0]
    n_k = env.action_space[0].n
    n_z = env.action_space[1].shape[0]
    q_net, z_net = mlp(n_obs + n_z, n_k), nn.Sequential(mlp(n_obs, n_z), nn.Tanh())
    q_targ, z_targ = copy.deepcopy(q_net), copy.deepcopy(z_net)
    q_opt = torch.optim.Adam(q_net.parameters(), lr=1e-3)
    z_opt = torch.optim.Adam(z_net.parameters(), lr=1e-4)
    size = min(steps, 100_000)
    buf = {"s": np.zeros((size, n_obs), np.float32), "k": np.zeros(size, np.int64),
           "z": np.zeros((size, n_z), np.float32), "r": np.zeros(size, np.float32),
           "s2": np.zeros((size, n_obs), np.float32), "done": np.zeros(size, np.float32)}
    obs, _ = env.reset(seed=seed)
    ep_return, returns = 0.0, []
    for t in range(steps):
        eps = max(0.05, 1.0 - t / (0.5 * steps))
        with torch.no_grad():
            s = torch.as_tensor(obs)[None]
            z = z_net(s)[0].numpy()
            k = int(rng.integers(n_k)) if rng.random() < eps else int(
                q_net(torch.cat([s, torch.as_tensor(z)[None]], 1))[0].argmax())
        z = np.clip(z + rng.normal(0, 0.2 * eps + 0.05, n_z), -1, 1).astype(np.float32)
        obs2, reward, terminated, truncated, _ = env.step((k, z))
        i = t % size
        for name, value in (("s", obs), ("k", k), ("z", z), ("r", reward), ("s2", obs2),
                            ("done", float(terminated))):
            buf[name][i] = value
        ep_return += reward
        obs = obs2
        if terminated or truncated:
            returns.append(ep_return)
            ep_return = 0.0
            obs, _ = env.reset()
        if t >= batch:
            idx = rng.integers(min(t + 1, size), size=batch)
            b = {name: torch.as_tensor(v[idx]) for name, v in buf.items()}
            with torch.no_grad():
                q2 = q_targ(torch.cat([b["s2"], z_targ(b["s2"])], 1)).max(1).values
                target = b["r"] + gamma * (1 - b["done"]) * q2
            q = q_net(torch.cat([b["s"], b["z"]], 1)).gather(1, b["k"][:, None])[:, 0]
            q_loss = nn.functional.smooth_l1_loss(q, target)
            q_opt.zero_grad()
            q_loss.backward()
            q_opt.step()
            z_loss = -q_net(torch.cat([b["s"], z_net(b["s"])], 1)).sum(1).mean()
            z_opt.zero_grad()
            z_loss.backward()
            z_opt.step()
            with torch.no_grad():
                for net, targ, tau in ((q_net, q_targ, 0.01), (z_net, z_targ, 0.001)):
                    for p, pt in zip(net.parameters(), targ.parameters(), strict=True):
                        pt.mul_(1 - tau).add_(tau * p)
        if log_every and (t + 1) % log_every == 0 and returns:
            print(f"{t + 1} steps: mean return of the last 50 episodes "
                  f"{np.mean(returns[-50:]):.3f}")
    return returns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Platform-v0")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train(args.env, args.steps, args.seed)


if __name__ == "__main__":
    main()
