"""Fashion-MNIST with the Keras-style API: a small MLP built with Sequential,
trained with fit, then a classification report on the test set. Runs without
numpy.

    python3 bindings/python/examples/fashion_mnist.py [DATA_DIR] [EPOCHS] [--cnn]

DATA_DIR holds the four *-ubyte.gz files (default /usr/share/datasets/fashion-mnist).
--cnn trains the tutorial CNN (93,322 parameters) instead: slower, more accurate.
Ctrl-C stops training after the current batch and still reports.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bigmodel as bm  # noqa: E402
from bigmodel import layers  # noqa: E402

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
         "Sneaker", "Bag", "Ankle boot"]


def load(folder, split):
    """A Dataset of (N, 28, 28, 1) pixels scaled to [0, 1] and int32 labels."""
    ds = bm.data.load_idx(os.path.join(folder, "%s-images-idx3-ubyte.gz" % split),
                          os.path.join(folder, "%s-labels-idx1-ubyte.gz" % split))
    return bm.preprocessing.Rescale(255.0).transform(ds, inplace=True)


def mlp():
    return [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]


def cnn():
    return [layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
            layers.Dense(64, activation="relu"), layers.Dense(10)]


def main(folder="/usr/share/datasets/fashion-mnist", epochs=2, use_cnn=False):
    train, test = load(folder, "train"), load(folder, "t10k")
    model = bm.Sequential(cnn() if use_cnn else mlp(), input_shape=(28, 28, 1), seed=42)
    model.summary()
    model.compile(optimizer=bm.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", from_logits=True,
                  metrics=["accuracy"])
    try:
        model.fit(train, epochs=epochs, batch_size=64, validation_split=0.1)
    except KeyboardInterrupt:
        print("\ninterrupted; reporting on the weights trained so far")

    loss, accuracy = model.evaluate(test, batch_size=256)
    print("test loss: %.4f - test accuracy: %.4f\n" % (loss, accuracy))
    logits = model.predict(test.x, batch_size=256)
    print(bm.classification_report(test.y, logits, target_names=NAMES, digits=3))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--cnn"]
    main(*(args[0:1] or []), *[int(a) for a in args[1:2]], use_cnn="--cnn" in sys.argv)
