"""The character "hello" task: one RNN cell learns to turn "hello" into "ohlol".

The classic worked example. The characters idx2char = e, h, l, o are one-hot vectors of size 4.
One RNNCell(4, 4) reads "hello" one character per step, and its hidden state IS the vector of
4 scores (logits) for the next character: there is no output layer. The loss is the
cross-entropy of every step, summed over the 5 steps; Adam (lr 0.1) trains it for 15 epochs.
Because the logits are tanh outputs in (-1, 1), the summed loss cannot go below about 1.704.

    python examples/hello.py                        # the classic run
    python examples/hello.py --cell lstm --epochs 30
    python examples/hello.py --input hlllo --target ohlol
    python examples/hello.py --render hello.png      # also draw the unrolled graph
"""

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.hello import CELLS, DEFAULT_SEED, make_data, read_init
from tinygrad_rnn.script import Parser, positive_float, positive_int, run_main, seed_int


def make_cell(kind, vocab_size, seed, init=None):
    """The model: one cell whose hidden state has one unit per character."""
    tg.manual_seed(seed)
    cell = CELLS[kind](vocab_size, vocab_size)  # RNNCell: h' = tanh(W [x; h] + b)
    if init is not None:
        nn.load_torch_weights(cell, init)  # PyTorch-named arrays; its two biases are added
    return cell


def train(cell, data, epochs=15, lr=0.1):
    """Backpropagation through time: unroll the cell over the word, sum the step losses,
    backward through every step, one Adam step. Returns each epoch's loss (before its step)."""
    opt = optim.Adam(cell.parameters(), lr=lr)
    losses = []
    for epoch in range(1, epochs + 1):
        state, loss, predicted = None, 0.0, ""
        for t in range(len(data.y)):  # the same cell, the same weights, at every step
            state = cell(data.x[t], state)  # x_t is (1, 4): a batch of one character
            h = state[0] if isinstance(state, tuple) else state  # an LSTM's state is (h, c)
            loss = loss + F.cross_entropy(h, data.y[t:t + 1], reduction="sum")  # h: logits
            predicted += data.idx2char[int(np.argmax(h.data))]
        opt.zero_grad()
        loss.backward()  # the gradient flows back through all the steps
        opt.step()
        losses.append(loss.item())
        print(f"epoch {epoch:2d}  loss {loss.item():.4f}  predicted {predicted!r}")
    return losses


def main(argv=None):
    """Command line: train, print each epoch, optionally draw the unrolled graph."""
    p = Parser(prog="hello", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", default="hello", help="input string (default: hello)")
    p.add_argument("--target", default="ohlol", help="target string, same length (ohlol)")
    p.add_argument("--cell", choices=sorted(CELLS), default="rnn")
    p.add_argument("--epochs", type=positive_int, default=15)
    p.add_argument("--lr", type=positive_float, default=0.1)
    p.add_argument("--seed", type=seed_int, default=DEFAULT_SEED)
    p.add_argument("--init", metavar="FILE.npz", help="initial weights as PyTorch-named arrays")
    p.add_argument("--render", metavar="PATH", help="draw the unrolled graph to PATH")
    p.add_argument("--quick", action="store_true", help="3 epochs (a smoke run)")
    args = p.parse_args(argv)
    if args.render:
        import viz.demo  # checks the picture's format now, not after training

        viz.demo.check_output_path(args.render, "hello: --render")
    data = make_data(args.input, args.target)
    init = read_init(args.init) if args.init else None
    cell = make_cell(args.cell, len(data.idx2char), args.seed, init)
    print(f"idx2char = {data.idx2char}, input {args.input!r}, target {args.target!r}, "
          f"{type(cell).__name__}({len(data.idx2char)}, {len(data.idx2char)}), Adam lr {args.lr}")
    train(cell, data, 3 if args.quick else args.epochs, args.lr)
    if args.render:
        print(f"drawing the unrolled graph with its gradients to {args.render}")
        print(f"wrote {viz.demo.render_hello(cell, data, args.render)}")
        last = viz.demo.last_step_path(args.render)  # the loss at the last step only: fading
        print(f"wrote {viz.demo.render_hello_last_step(cell, data, last)}")
    return 0


if __name__ == "__main__":
    run_main(main, "hello")
