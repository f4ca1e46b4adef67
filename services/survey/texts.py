"""The form's own words in each language a site may use (names of dimensions and items
come from the rule file)."""

from __future__ import annotations

TEXTS = {
    "en": {
        "title": "Customer satisfaction survey",
        "intro": "Please rate each point. Your answers help us improve.",
        "for": "For",
        "due": "Please answer by",
        "scale": "Score from {min:g} (worst) to {max:g} (best)",
        "comments": "Comments",
        "suggestions": "Suggestions (one per line)",
        "submit": "Send my answers",
        "thanks": "Thank you! Your answers were received.",
        "again": "Your answers had already been received. Thank you.",
        "late": "The answer window had closed; your answers are kept and read.",
        "invalid": "Please give a score within the scale for every point.",
        "tampered": "This survey link is not valid. Please use the link from your invitation.",
        "expired": "This survey link has expired. Please contact us for a new one.",
        "unknown": "This survey no longer exists.",
    },
    "zh": {
        "title": "顾客满意度调查",
        "intro": "请为每一项打分，您的意见帮助我们改进。",
        "for": "客户",
        "due": "请于以下时间前回复",
        "scale": "评分范围 {min:g}（最差）至 {max:g}（最好）",
        "comments": "意见",
        "suggestions": "建议（每行一条）",
        "submit": "提交",
        "thanks": "谢谢！我们已收到您的回复。",
        "again": "我们此前已收到您的回复，谢谢。",
        "late": "回复期限已过；您的意见仍会被保留并阅读。",
        "invalid": "请为每一项填写评分范围内的分数。",
        "tampered": "此调查链接无效，请使用邀请中的链接。",
        "expired": "此调查链接已过期，请联系我们获取新链接。",
        "unknown": "此调查已不存在。",
    },
}


def texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["en"])
