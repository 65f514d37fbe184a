"""Softmax regression on Fashion-MNIST with the GradientTape and Adam, then a
classification report on the test set. Runs without numpy.

    python3 bindings/python/examples/fashion_mnist.py [DATA_DIR] [EPOCHS]

DATA_DIR holds the four *-ubyte.gz files (default /usr/share/datasets/fashion-mnist).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bigmodel as bm  # noqa: E402
from bigmodel import ops  # noqa: E402

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
         "Sneaker", "Bag", "Ankle boot"]


def load(folder, split):
    return bm.data.load_idx(os.path.join(folder, "%s-images-idx3-ubyte.gz" % split),
                            os.path.join(folder, "%s-labels-idx1-ubyte.gz" % split))


def features(images):
    """(N, 28, 28, 1) pixels 0..255 to (N, 784) values in [0, 1]."""
    return ops.reshape(images, (-1, 784)) * (1.0 / 255.0)


def main(folder="/usr/share/datasets/fashion-mnist", epochs=2):
    train, test = load(folder, "train"), load(folder, "t10k")
    w = bm.Variable(bm.random_normal((784, 10), stddev=0.01, seed=42))
    b = bm.Variable(bm.zeros(10))
    optimizer = bm.optimizers.Adam(learning_rate=1e-3)
    accuracy = bm.metrics.Accuracy()
    tape = bm.GradientTape()
    batches = train.batches(128, shuffle=True, seed=1, copy=False)
    for epoch in range(1, epochs + 1):
        start, total, count = time.time(), 0.0, 0
        accuracy.reset_state()
        for images, labels in batches:
            x = features(images)
            with tape:
                logits = x @ w + b
                loss = ops.sparse_categorical_crossentropy(logits, labels, from_logits=True)
            optimizer.apply(tape.gradient(loss, [w, b]), [w, b])
            accuracy.update_state(labels, logits)
            total, count = total + loss.item(), count + 1
        print("epoch %d/%d - %.1fs - loss: %.4f - accuracy: %.4f"
              % (epoch, epochs, time.time() - start, total / count, accuracy.result()))

    logits = features(test.x) @ w + b
    print("test accuracy: %.4f\n" % bm.metrics.accuracy_score(test.y, logits))
    print(bm.classification_report(test.y, logits, target_names=NAMES, digits=3))


if __name__ == "__main__":
    main(*(sys.argv[1:2] or []), *[int(a) for a in sys.argv[2:3]])
