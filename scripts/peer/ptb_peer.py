"""The peer for the end-to-end benchmark: the same short lens conversation written the way
many teams would write it in Python, with python-telegram-bot's ConversationHandler and
PicklePersistence (default settings: the pickle file is written every 60 seconds and at
shutdown, so this peer is less durable than lensbot, which flushes every turn).

Run by benches/telegram_e2e.rs against the same fake Bot API as lensbot:
    PEER_API_URL=http://127.0.0.1:PORT PEER_TOKEN=... PEER_DATA=/tmp/x.pickle python ptb_peer.py
"""

import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

INTRO, SUMMARY, QUESTION = range(3)

WELCOME = (
    "Welcome to lensbot. I help allied health professionals find their role in tackling "
    "health inequalities, one lens at a time. Your reflections stay private."
)
LENS_INTRO = (
    "Lens 1: Myself as an individual\n"
    "This lens is about you: your own story, what you value, what you are good at and the "
    "assumptions you carry into work."
)
SUMMARY_TEXT = (
    "Lens 1: Myself as an individual, awareness\n"
    "Awareness here means turning your attention to yourself before your clinical work."
)
QUESTIONS = [
    "Why does tackling health inequalities matter to you personally?",
    "If care in your area of work were fairer a year from now, what is one change you would "
    "hope to see?",
    "Which parts of your own background help you understand the people you care for, and "
    "which might make some of their lives harder for you to picture?",
    "Think of someone you cared for recently whose life is very different from yours.",
]


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"0:{i}") for i, label in enumerate(labels)]]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.user_data.setdefault("reflections", [])
    await update.message.reply_text(WELCOME, reply_markup=keyboard("Start lens 1", "Help"))


async def lens(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text(LENS_INTRO, reply_markup=keyboard("Begin with awareness"))
    return INTRO


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text(SUMMARY_TEXT, reply_markup=keyboard("Next", "Skip this part"))
    return SUMMARY


async def first_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data["question"] = 0
    await update.message.reply_text(
        f"Lens 1, awareness: question 1 of 6\n{QUESTIONS[0]}\nType your answer",
        reply_markup=keyboard("Skip"),
    )
    return QUESTION


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    q = context.user_data.get("question", 0)
    context.user_data.setdefault("reflections", []).append(
        {"lens": "lens-1", "prompt": q, "text": update.message.text}
    )
    q += 1
    context.user_data["question"] = q
    await update.message.reply_text(
        f"Saved.\nLens 1, awareness: question {q + 1} of 6\n{QUESTIONS[q % len(QUESTIONS)]}",
        reply_markup=keyboard("Skip"),
    )
    return QUESTION


async def progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    n = len(context.user_data.get("reflections", []))
    await update.message.reply_text(
        f"1 Myself as an individual: awareness started\nReflections written: {n}."
    )


def main() -> None:
    persistence = PicklePersistence(filepath=os.environ["PEER_DATA"])
    app = (
        ApplicationBuilder()
        .token(os.environ["PEER_TOKEN"])
        .base_url(os.environ["PEER_API_URL"] + "/bot")
        .persistence(persistence)
        .build()
    )
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("lens", lens)],
            states={
                INTRO: [MessageHandler(filters.Regex(r"^1$"), begin)],
                SUMMARY: [MessageHandler(filters.Regex(r"(?i)^next$"), first_question)],
                QUESTION: [MessageHandler(filters.TEXT & ~filters.COMMAND, answer)],
            },
            fallbacks=[CommandHandler("progress", progress)],
            name="lens",
            persistent=True,
        )
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("progress", progress))
    app.run_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
